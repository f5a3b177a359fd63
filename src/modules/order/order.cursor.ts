import { decodeCursor, encodeCursor, microsOf, timestampFromMicros } from '../../shared/cursor';

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

/**
 * The keyset query of `myOrders`: one customer's orders, optionally of one status, newest first,
 * strictly after a cursor. Written so `order_customer_created_idx` (customer_id, created_at, id)
 * or, with a status, `order_customer_status_created_idx` (customer_id, status, created_at, id)
 * serves both the filter and the order, read backwards, whatever the table size.
 * Parameters: customerId, [status], [cursor micros, cursor id], limit.
 */
export function myOrdersQuery(opts: { status: boolean; after: boolean }): string {
  return `select ${ORDER_PAGE_COLUMNS}
    from "order"
   where customer_id = ?${opts.status ? ' and status = ?' : ''}${
     opts.after ? ` and (created_at, id) < (${timestampFromMicros}, ?::uuid)` : ''
   }
   order by created_at desc, id desc
   limit ?`;
}
