import { BadUserInputError } from '../../shared/errors';
import { isUuid } from '../../shared/ids';

/** A position in a customer's order list, newest first: creation time in microseconds since the epoch, then id. */
export interface OrderCursor {
  createdAtMicros: string;
  id: string;
}

/** Opaque cursor: base64url of `<createdAt µs>:<id>` (microseconds, so orders created in one millisecond keep their order). */
export function encodeOrderCursor(c: OrderCursor): string {
  return Buffer.from(`${c.createdAtMicros}:${c.id}`, 'utf8').toString('base64url');
}

/** Reads a cursor made by {@link encodeOrderCursor}; BAD_USER_INPUT (`after`) for anything else. */
export function decodeOrderCursor(cursor: string): OrderCursor {
  const bad = () => BadUserInputError.field('after', 'not a cursor returned by myOrders');
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) throw bad();
  const m = /^(\d{1,19}):(.+)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m || !isUuid(m[2])) throw bad();
  return { createdAtMicros: m[1], id: m[2] };
}

/**
 * The keyset query of `myOrders`: one customer's orders, optionally of one status, newest first,
 * strictly after a cursor. Written so `order_customer_created_idx` (customer_id, created_at, id)
 * or, with a status, `order_customer_status_created_idx` (customer_id, status, created_at, id)
 * serves both the filter and the order, read backwards, whatever the table size.
 * Parameters: customerId, [status], [cursor micros, cursor id], limit.
 */
export function myOrdersQuery(opts: { status: boolean; after: boolean }): string {
  return `select id, (extract(epoch from created_at) * 1000000)::bigint::text as created_at_micros
    from "order"
   where customer_id = ?${opts.status ? ' and status = ?' : ''}${
     opts.after ? ` and (created_at, id) < (timestamptz 'epoch' + ?::bigint * interval '1 microsecond', ?::uuid)` : ''
   }
   order by created_at desc, id desc
   limit ?`;
}
