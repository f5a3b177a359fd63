/** Deliveries of paid orders (by a provider or automatic), service periods, and the order mails. */
import { Delivery, ServicePeriod } from './delivery.entity';
import { DeliveryResolver } from './delivery.resolver';
import { CustomerServicesResolver, ServicePeriodResolver } from './service-period.resolver';

export { cancelDeliveryForRefund } from './delivery.cancel';
export { Delivery, ServicePeriod } from './delivery.entity';
export { deliveryLifecycle } from './delivery.fsm';
export { deliveryJobAttempts, DeliveryService, type RefundCore } from './delivery.service';
export { deliveryTasks } from './delivery.tasks';
export { MailKind, mailJob } from './order-mail';
export { WebhookProvisioner, type Provisioner } from './provisioner';
export { CustomerServicesResolver, DeliveryResolver, ServicePeriodResolver };

/** The module's entities, for the ORM. */
export const entities = [Delivery, ServicePeriod];
/** The module's resolvers, for the schema. */
export const resolvers = [DeliveryResolver, CustomerServicesResolver, ServicePeriodResolver] as const;
