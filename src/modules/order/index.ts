/** Orders: made, listed, cancelled and watched live; the state machine and the snapshots others publish. */
import { OrderAdminResolver } from './order-admin.resolver';
import { OrderFieldsResolver } from './order-fields.resolver';
import { OrderSubscriptionResolver } from './order-subscription.resolver';
import { Order } from './order.entity';
import { OrderResolver } from './order.resolver';

export { OrderLiveService, type OrderLookup } from './order-live.service';
export { DeliveryStatus, type OrderDelivery } from './order.delivery';
export { CancelReason, Order, OrderStatus, PaymentMethod } from './order.entity';
export { OrderEvents, type OrderTopics } from './order.events';
export { orderLifecycle } from './order.fsm';
export { OrderService, type OpenCheckouts } from './order.service';
export { readSnapshot, readSnapshots, toSnapshot, type DeliverySnapshot, type OrderSnapshot } from './order.snapshot';
export { OrderType } from './order.types';
export { OrderAdminResolver, OrderFieldsResolver, OrderResolver, OrderSubscriptionResolver };

/** The module's entities, for the ORM. */
export const entities = [Order];
/** The module's resolvers, for the schema. */
export const resolvers = [OrderFieldsResolver, OrderResolver, OrderAdminResolver, OrderSubscriptionResolver] as const;
