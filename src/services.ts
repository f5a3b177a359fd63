import type { Config } from './config';
import type { TaskList } from './infra/jobs';
import type { EventBus } from './infra/pubsub';
import { CustomerService } from './modules/customer/customer.service';
import { PlanService } from './modules/plan/plan.service';

/** The domain services, built once per process and shared by requests, jobs and webhooks. */
export interface Services {
  customers: CustomerService;
  plans: PlanService;
  /** Background job handlers, by task name. */
  tasks: TaskList;
}

/** Wires the services with their dependencies. */
export function createServices(deps: { config: Config; bus: EventBus }): Services {
  void deps;
  return {
    customers: new CustomerService(),
    plans: new PlanService(),
    tasks: {},
  };
}
