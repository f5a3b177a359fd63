import { JobOutboxRow } from './infra/job-outbox.entity';
import * as audit from './modules/audit';
import * as coupon from './modules/coupon';
import * as customer from './modules/customer';
import * as delivery from './modules/delivery';
import * as order from './modules/order';
import * as payment from './modules/payment';
import * as plan from './modules/plan';
import * as wallet from './modules/wallet';

/** Every entity, module by module, listed explicitly so discovery works the same from TypeScript sources and compiled code. */
export const entities = [
  ...customer.entities,
  ...plan.entities,
  ...coupon.entities,
  ...order.entities,
  ...delivery.entities,
  ...wallet.entities,
  ...payment.entities,
  ...audit.entities,
  JobOutboxRow,
];
