import { sql, textArray, type Sql } from '../../shared/sql';
import { DeliveryStatus } from '../order';
import { DeliveryActor, deliveryLifecycle, deliveryMoves, type DeliveryMode } from './delivery.fsm';

/*
 * Every status change of a delivery is one guarded `update delivery` built here from the delivery
 * lifecycle table (delivery.fsm.ts): the row changes only if its status is one the table allows to
 * reach the new one, so racing changes (the worker, the provider, an admin, a refund) cannot both win.
 * A delivery is created NEW by the database function `delivery_open`, in the payment's transaction.
 */

/** The states a change towards `to` may start from, for any actor of `mode` (or any mode when absent). */
function fromStates(to: DeliveryStatus, mode?: DeliveryMode): DeliveryStatus[] {
  if (!mode) return deliveryLifecycle.from(to);
  const from = new Set<DeliveryStatus>();
  for (const actor of Object.values(DeliveryActor)) for (const s of deliveryMoves(mode, actor).from(to)) from.add(s);
  return [...from];
}

/**
 * The guarded update moving the delivery of `orderId` to `to`: `attempts` more attempts counted (an
 * automatic delivery's try), `completed_at` set on COMPLETED. Returns the changed row (`delivery.*`),
 * or no row when the delivery is not in a state the table allows to reach `to` in `mode`.
 */
export function deliveryTransition(t: { orderId: string; to: DeliveryStatus; mode?: DeliveryMode; attempts?: 0 | 1 }): Sql {
  return sql`update delivery set status = ${t.to}, attempts = attempts + ${t.attempts ?? 0}::int, updated_at = now(),
                    completed_at = case when ${t.to === DeliveryStatus.COMPLETED}::boolean then now() else completed_at end
              where order_id = ${t.orderId}::uuid and status = any(${textArray(fromStates(t.to, t.mode))}::text[])
             returning *`;
}
