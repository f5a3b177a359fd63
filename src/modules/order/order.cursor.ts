import { decodeCursor, encodeCursor, microsOf } from '../../shared/cursor';

/** A position in a customer's order list, newest first: creation time in microseconds since the epoch, then id. */
export interface OrderCursor {
  createdAtMicros: string;
  id: string;
}

/** Opaque cursor of an order list (the shared keyset codec). */
export function encodeOrderCursor(c: OrderCursor): string {
  return encodeCursor({ micros: c.createdAtMicros, id: c.id });
}

/** Reads a cursor made by {@link encodeOrderCursor}; BAD_USER_INPUT (`after`) for anything else. */
export function decodeOrderCursor(cursor: string): OrderCursor {
  const c = decodeCursor(cursor);
  return { createdAtMicros: c.micros, id: c.id };
}

/**
 * The columns of `order` a page of orders shows (see order-list.ts), with the row's keyset position
 * (`created_at_micros`): a keyset query selects them, so the page is read with the rows it walks.
 */
export const ORDER_PAGE_COLUMNS = `id, number, customer_id, plan_id, upgrade_ids, upgrades, coupon_code, currency, subtotal, discount, tax, total,
         status, created_at, expires_at, paid_at, payment_method, delivered_at, cancelled_at, cancel_reason, version,
         ${microsOf('created_at')} as created_at_micros`;
