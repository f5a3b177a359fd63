import { pageOf, type Page } from '../../shared/types';
import { encodeOrderCursor } from './order.cursor';
import type { OrderRow } from './order.row';
import type { OrderSnapshot } from './order.snapshot';

/** A moment as {@link OrderSnapshot} writes it (`Date#toISOString`: UTC, milliseconds), formatted by PostgreSQL. */
const isoOf = (column: string): string => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** A row of a page statement: the order's columns, its delivery's (null without one), its plan's provider. */
export interface PageRow extends OrderRow {
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
 * The select list of a page statement, over `o` (rows of a keyset query selecting `ORDER_PAGE_COLUMNS`,
 * order.cursor.ts) and the {@link PAGE_JOINS}: what a row's snapshot needs, moments already in the
 * snapshot's text form.
 */
export const PAGE_COLUMNS = `o.id, o.number, o.customer_id, o.plan_id, o.upgrade_ids, o.upgrades, o.coupon_code, o.currency,
         o.subtotal, o.discount, o.tax, o.total, o.status, ${isoOf('o.created_at')} as created_at,
         ${isoOf('o.expires_at')} as expires_at, ${isoOf('o.paid_at')} as paid_at, o.payment_method,
         ${isoOf('o.delivered_at')} as delivered_at, ${isoOf('o.cancelled_at')} as cancelled_at, o.cancel_reason, o.version,
         o.created_at_micros,
         d.id as delivery_id, d.provider_id as delivery_provider_id, d.status as delivery_status, d.attempts as delivery_attempts,
         ${isoOf('d.updated_at')} as delivery_updated_at, ${isoOf('d.completed_at')} as delivery_completed_at,
         p.provider_id as plan_provider_id`;

/**
 * The joins of a page statement after its keyset rows `o`: they touch only the page's rows (the plans
 * joined once, not looked up per row: a page names a few plans).
 */
export const PAGE_JOINS = `left join delivery d on d.order_id = o.id
    left join plan p on p.id = o.plan_id`;

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
 * The page of a keyset read of `first + 1` rows at most, newest first: the first `first` as snapshots
 * with their cursors, a next page exactly when the extra row came back.
 */
export function pageOfRows(rows: readonly PageRow[], first: number): Page<OrderSnapshot> {
  return pageOf(rows, first, (r) => ({ cursor: encodeOrderCursor({ createdAtMicros: r.created_at_micros, id: r.id }), node: snapshotOf(r) }));
}
