/** Orders: made, listed, cancelled and watched live; the state machine and the snapshots others publish. */
import { OrderAdminResolver } from './order-admin.resolver';
import { OrderEvent } from './order-event.entity';
import { OrderFieldsResolver } from './order-fields.resolver';
import { OrderHistoryResolver } from './order-history.resolver';
import { OrderSubscriptionResolver } from './order-subscription.resolver';
import { Order } from './order.entity';
import { OrderResolver } from './order.resolver';

export { OrderLiveService, type OrderLookup } from './order-live.service';
export { DeliveryStatus, type OrderDelivery } from './order.delivery';
export { CancelReason, Order, OrderStatus, PaymentMethod, type BoughtUpgrade } from './order.entity';
export { OrderEvents, type OrderTopics } from './order.events';
export { orderLifecycle } from './order.fsm';
export { orderTouched, orderTransition, type OrderTransition, type ReleasedHolds } from './order-transitions';
export type { OpenCheckouts } from './order-release';
export { ownOrRefuse } from './order.actor';
export { OrderService } from './order.service';
export { snapshotFromRows, type DeliveryRow, type OrderRow } from './order.row';
export { readSnapshot, readSnapshots, toSnapshot, type DeliverySnapshot, type OrderSnapshot } from './order.snapshot';
export { OrderType } from './order.types';
export { OrderAdminResolver, OrderFieldsResolver, OrderHistoryResolver, OrderResolver, OrderSubscriptionResolver };
export { OrderEvent };

/** The module's entities, for the ORM. */
export const entities = [Order, OrderEvent];
/** The module's resolvers, for the schema. */
export const resolvers = [OrderFieldsResolver, OrderHistoryResolver, OrderResolver, OrderAdminResolver, OrderSubscriptionResolver] as const;
