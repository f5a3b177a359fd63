import { Customer } from './modules/customer/customer.entity';
import { Plan, PlanUpgrade } from './modules/plan/plan.entity';

/** Every entity, listed explicitly so discovery works the same from TypeScript sources and compiled code. */
export const entities = [Customer, Plan, PlanUpgrade];
