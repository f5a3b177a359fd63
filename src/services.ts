import type { Config } from './config';
import type { TaskList } from './infra/jobs';
import type { EventBus } from './infra/pubsub';
import { CustomerService } from './modules/customer/customer.service';
import { DeliveryService } from './modules/delivery/delivery.service';
import { OrderEvents } from './modules/order/order.events';
import { PlanService } from './modules/plan/plan.service';
import { LedgerService } from './modules/wallet/ledger.service';

/** The domain services, built once per process and shared by requests, jobs and webhooks. */
export interface Services {
  customers: CustomerService;
  plans: PlanService;
  ledger: LedgerService;
  orderEvents: OrderEvents;
  deliveries: DeliveryService;
  /** Background job handlers, by task name. */
  tasks: TaskList;
}

/** Wires the services with their dependencies. */
export function createServices(deps: { config: Config; bus: EventBus }): Services {
  const ledger = new LedgerService();
  const orderEvents = new OrderEvents(deps.bus);
  const deliveries = new DeliveryService();
  return {
    customers: new CustomerService(),
    plans: new PlanService(),
    ledger,
    orderEvents,
    deliveries,
    tasks: {},
  };
}
