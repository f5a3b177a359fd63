import type { EntityManager } from '@mikro-orm/postgresql';
import { query } from '../../shared/sql';
import { DeliveryStatus } from '../order';
import { deliveryTransition } from './delivery-transitions';
import { Delivery } from './delivery.entity';

/**
 * Cancels the delivery of an order being refunded, inside the refund's transaction: a guarded update
 * moves it to CANCELLED when the lifecycle allows it from where it stands. Returns the delivery as it
 * is then (CANCELLED, or unchanged when it could not be cancelled, e.g. COMPLETED), or null when the
 * order has none. The delivery module owns the table, so the payment module asks it here.
 */
export async function cancelDeliveryForRefund(tx: EntityManager, orderId: string): Promise<Delivery | null> {
  const cancelled = await query<Record<string, unknown>>(tx, deliveryTransition({ orderId, to: DeliveryStatus.CANCELLED }));
  return cancelled.length ? tx.map(Delivery, cancelled[0]) : tx.findOne(Delivery, { order: orderId }, { refresh: true });
}
