import { joinSql, rawSql, sql, textArray, type Sql } from '../../shared/sql';
import { CancelReason, OrderStatus } from './order.entity';
import { orderLifecycle } from './order.fsm';

/*
 * Every status change of an order is one guarded `update "order"` built here from the transition table
 * (orderLifecycle): the row changes only if its status is one the table allows to reach the new one, so
 * racing changes (payment, cancel, timeout, refund, delivery) cannot both win, and the table and the
 * database agree on every change. Each change raises `version` by one and names its `actor` (the
 * order's history takes both). The statements are parts (see src/shared/sql.ts): run alone, or as the
 * first step of a statement that also gives back what the order held. The one change made in the
 * database is PENDING → PAID: the function `order_pay` (migrations/Migration20261202170000_ConfirmPayment.ts;
 * as it stands now, Migration20261203140000_PaymentStepCalls.ts),
 * called by the payment's `confirm_payment` with the from-states this module's table gives
 * (`orderLifecycle.from(PAID)`), guarded the same way.
 */

/** What an order held just before a change cleared it (each `released_*` as the flag was). */
export interface ReleasedHolds {
  released_unpaid_slot: boolean;
  released_stock: boolean;
  released_coupon_use: boolean;
}

/** A guarded change of one order's status. */
export interface OrderTransition {
  orderId: string;
  to: OrderStatus;
  /** Who makes the change, for the order's history: a customer id or `system:<source>`. */
  actor: string;
  /** Further columns the change sets, e.g. sql`paid_at = now()` (the row being changed is `o`). */
  set?: Sql;
  /** Further conditions on the order as it is before the change, e.g. sql`customer_id = ${id}`. */
  where?: Sql;
  /**
   * Also clears every `holds_*` flag of the order, returning them as they were (`released_*`,
   * {@link ReleasedHolds}), for the statement to give back exactly that.
   */
  releaseHolds?: boolean;
}

const CLEAR_HOLDS = rawSql(`holds_unpaid_slot = false, holds_stock = false, holds_coupon_use = false`);
const RELEASED = rawSql(
  `held.holds_unpaid_slot as released_unpaid_slot, held.holds_stock as released_stock, held.holds_coupon_use as released_coupon_use`,
);

/**
 * The guarded update of {@link OrderTransition}: returns the changed order's row (`o.*`, and the
 * `released_*` flags when it releases holds), or no row when the order is not in a state the
 * transition table allows to reach `to` (or fails `where`). Releasing holds locks the row in a subquery
 * (`for update`), which waits for a racing change and then reads the row's latest version, so the
 * flags returned are exactly what this change took away (RETURNING alone shows the new row).
 */
export function orderTransition(t: OrderTransition): Sql {
  const from = sql`${textArray(orderLifecycle.from(t.to))}::text[]`;
  const set = sql`status = ${t.to}, version = o.version + 1, actor = ${t.actor}${t.set ? sql`, ${t.set}` : rawSql('')}`;
  if (!t.releaseHolds) {
    return sql`update "order" o set ${set}
                where o.id = ${t.orderId}::uuid and o.status = any(${from})${t.where ? sql` and ${t.where}` : rawSql('')}
               returning o.*`;
  }
  return sql`update "order" o set ${set}, ${CLEAR_HOLDS}
               from (select id, holds_unpaid_slot, holds_stock, holds_coupon_use from "order"
                      where id = ${t.orderId}::uuid and status = any(${from})${t.where ? sql` and ${t.where}` : rawSql('')}
                      for update) held
              where o.id = held.id
             returning o.*, ${RELEASED}`;
}

/**
 * Not a status change: clears whatever the order still holds, returning it as it was (`o.*` and
 * {@link ReleasedHolds}); no row when it holds nothing. For a path that ends an order some other way than
 * cancelling it (a refund), inside the transaction that makes that change.
 */
export function releaseHolds(orderId: string): Sql {
  return sql`update "order" o set ${CLEAR_HOLDS}
               from (select id, holds_unpaid_slot, holds_stock, holds_coupon_use from "order"
                      where id = ${orderId}::uuid and (holds_unpaid_slot or holds_stock or holds_coupon_use)
                      for update) held
              where o.id = held.id
             returning o.*, ${RELEASED}`;
}

/**
 * PENDING → CANCELLED (by the customer, an admin or the payment timeout): clears the expiry and every
 * hold (returned as {@link ReleasedHolds}). `reason` is the reason, or, for an admin who may cancel
 * their own order too, `ownReasonFor`: CUSTOMER when the order is that customer's, ADMIN otherwise.
 * `ownerId` limits the change to that customer's orders. The payment timeout (TIMEOUT) cancels only an
 * order whose payment time is up, whenever its job happens to run.
 */
export function cancelTransition(orderId: string, actor: string, reason: CancelReason | { ownReasonFor: string }, ownerId?: string): Sql {
  const why =
    typeof reason === 'string'
      ? sql`${reason}`
      : sql`case when o.customer_id = ${reason.ownReasonFor} then ${CancelReason.CUSTOMER} else ${CancelReason.ADMIN} end`;
  const only = [...(ownerId === undefined ? [] : [sql`customer_id = ${ownerId}`]), ...(reason === CancelReason.TIMEOUT ? [sql`expires_at <= now()`] : [])];
  return orderTransition({
    orderId,
    to: OrderStatus.CANCELLED,
    actor,
    set: sql`cancel_reason = ${why}, cancelled_at = now(), expires_at = null`,
    where: only.length ? joinSql(only, ' and ') : undefined,
    releaseHolds: true,
  });
}

/**
 * Not a status change: a new version of the order for a change of its delivery (the delivery module's
 * moves that leave the order's status as it is), named after `actor` in the order's history.
 */
export function orderTouched(orderId: string, actor: string): Sql {
  return sql`update "order" set version = version + 1, actor = ${actor} where id = ${orderId}::uuid`;
}
