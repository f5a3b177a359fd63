import type { EntityManager, Knex } from '@mikro-orm/postgresql';
import { createHash } from 'node:crypto';
import { pageRequest } from '../../shared/cursor';
import { pageOf, type Page } from '../../shared/types';
import { decodeOrderCursor, encodeOrderCursor, myOrdersQuery } from './order.cursor';
import type { OrderStatus } from './order.entity';
import type { OrderRow } from './order.row';
import type { OrderSnapshot } from './order.snapshot';

/** A moment as {@link OrderSnapshot} writes it (`Date#toISOString`: UTC, milliseconds), formatted by PostgreSQL. */
const isoOf = (column: string): string => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** A row of {@link pageStatement}: the order's columns, its delivery's (null without one), its plan's provider. */
interface PageRow extends OrderRow {
  created_at_micros: string;
  delivery_id: string | null;
  delivery_provider_id: string | null;
  delivery_status: string | null;
  delivery_attempts: number | null;
  delivery_updated_at: string | null;
  delivery_completed_at: string | null;
  plan_provider_id: string | null;
}

/**
 * The page statement around a keyset query selecting `ORDER_PAGE_COLUMNS` (order.cursor.ts): the rows
 * the keyset query walked, each with its delivery and its plan's provider, moments already in the
 * snapshot's text form. The keyset query keeps its index walk and its limit (a subquery with a limit is
 * never flattened); the joins then touch only the page's rows (the plans joined once, not looked up per
 * row: a page names a few plans).
 */
function pageStatement(keyset: string): string {
  return `select o.id, o.number, o.customer_id, o.plan_id, o.upgrade_ids, o.upgrades, o.coupon_code, o.currency,
         o.subtotal, o.discount, o.tax, o.total, o.status, ${isoOf('o.created_at')} as created_at,
         ${isoOf('o.expires_at')} as expires_at, ${isoOf('o.paid_at')} as paid_at, o.payment_method,
         ${isoOf('o.delivered_at')} as delivered_at, ${isoOf('o.cancelled_at')} as cancelled_at, o.cancel_reason, o.version,
         o.created_at_micros,
         d.id as delivery_id, d.provider_id as delivery_provider_id, d.status as delivery_status, d.attempts as delivery_attempts,
         ${isoOf('d.updated_at')} as delivery_updated_at, ${isoOf('d.completed_at')} as delivery_completed_at,
         p.provider_id as plan_provider_id
    from (${keyset}) o
    left join delivery d on d.order_id = o.id
    left join plan p on p.id = o.plan_id
   order by o.created_at desc, o.id desc`;
}

/** A page statement and the name it is prepared under. */
interface PreparedPage {
  text: string;
  name: string;
}

/**
 * The page statements made so far, by keyset query: a few shapes (which filters, a cursor or not), each
 * built once. The name is a digest of the text, so one name never stands for two texts on a connection.
 */
const pageStatements = new Map<string, PreparedPage>();

function preparedPage(keyset: string): PreparedPage {
  let page = pageStatements.get(keyset);
  if (!page) {
    const text = pageStatement(keyset);
    page = { text, name: `order_page_${createHash('sha256').update(text).digest('hex').slice(0, 24)}` };
    pageStatements.set(keyset, page);
  }
  return page;
}

/** The snapshot of a page row: what `toSnapshot` makes of the same order read as an entity. */
function snapshotOf(r: PageRow): OrderSnapshot {
  return {
    id: r.id,
    number: r.number,
    customerId: r.customer_id,
    providerId: r.delivery_provider_id ?? r.plan_provider_id ?? null,
    status: r.status,
    planId: r.plan_id,
    upgradeIds: r.upgrade_ids,
    upgrades: (r.upgrades ?? []).map((u) => ({ id: u.id, name: u.name, price: u.price })),
    couponCode: r.coupon_code,
    currency: r.currency,
    subtotal: r.subtotal,
    discount: r.discount,
    tax: r.tax,
    total: r.total,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    paidAt: r.paid_at,
    paymentMethod: r.payment_method,
    deliveredAt: r.delivered_at,
    cancelledAt: r.cancelled_at,
    cancelReason: r.cancel_reason,
    delivery:
      r.delivery_id === null
        ? null
        : { id: r.delivery_id, status: r.delivery_status!, attempts: r.delivery_attempts!, updatedAt: r.delivery_updated_at!, completedAt: r.delivery_completed_at },
    version: r.version,
  };
}

/**
 * Reads a page of orders in one statement: `keyset` (a keyset query selecting `ORDER_PAGE_COLUMNS`,
 * newest first, `first + 1` rows at most) and what each row's snapshot needs besides, as plain rows
 * mapped straight to snapshots, the form every `Order` field resolver reads. No entity is made: a page
 * is read-only, and hydrating twenty orders with their plans and deliveries cost more than the rest of
 * the request.
 */
export async function readOrderPage(em: EntityManager, keyset: { sql: string; params: unknown[] }, first: number): Promise<Page<OrderSnapshot>> {
  const page = preparedPage(keyset.sql);
  // A named statement with bind parameters: each connection parses and plans a shape once, then only
  // binds and runs it (lists are read far more often than anything else). Inside em's transaction when
  // it has one.
  const knex: Knex = em.getTransactionContext<Knex.Transaction>() ?? em.getConnection().getKnex();
  const { rows } = await knex.raw<{ rows: PageRow[] }>(page.text, keyset.params as Knex.RawBinding[]).options({ name: page.name });
  return pageOf(rows, first, (r) => ({ cursor: encodeOrderCursor({ createdAtMicros: r.created_at_micros, id: r.id }), node: snapshotOf(r) }));
}

/**
 * A customer's orders (optionally of one status), newest first, by keyset pagination (stable while
 * orders are added): `first` 1 to 100, default 20 (BAD_USER_INPUT outside; a client asking for 1000
 * learns the limit instead of silently getting 100), `after` a cursor from an earlier page
 * (BAD_USER_INPUT when malformed). One statement, served by the customer's index whatever the table size.
 */
export async function listCustomerOrders(
  em: EntityManager,
  customerId: string,
  args: { first?: number | null; after?: string | null; status?: OrderStatus | null },
): Promise<Page<OrderSnapshot>> {
  const { first, after } = pageRequest(args, decodeOrderCursor);
  const params: unknown[] = [customerId];
  if (args.status) params.push(args.status);
  if (after) params.push(after.createdAtMicros, after.id);
  params.push(first + 1);
  return readOrderPage(em, { sql: myOrdersQuery({ status: !!args.status, after: !!after }), params }, first);
}
