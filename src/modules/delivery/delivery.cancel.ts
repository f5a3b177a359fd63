import type { EntityManager } from '@mikro-orm/postgresql';
import { DeliveryStatus } from '../order';
import { Delivery } from './delivery.entity';
import { deliveryLifecycle } from './delivery.fsm';

/**
 * Cancels the delivery of an order being refunded, inside the refund's transaction: a guarded update
 * moves it to CANCELLED when the lifecycle allows it from where it stands. Returns the delivery as it
 * is then (CANCELLED, or unchanged when it could not be cancelled, e.g. COMPLETED), or null when the
 * order has none. The delivery module owns the table, so the payment module asks it here.
 */
export async function cancelDeliveryForRefund(tx: EntityManager, orderId: string): Promise<Delivery | null> {
  const cancelled = await tx.execute<Record<string, unknown>[]>(
    `update delivery set status = ?, updated_at = now() where order_id = ? and status in (?) returning *`,
    [DeliveryStatus.CANCELLED, orderId, deliveryLifecycle.from(DeliveryStatus.CANCELLED)],
  );
  return cancelled.length ? tx.map(Delivery, cancelled[0]) : tx.findOne(Delivery, { order: orderId }, { refresh: true });
}
