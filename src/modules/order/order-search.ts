import type { EntityManager } from '@mikro-orm/postgresql';
import { pageRequest, timestampFromMicros } from '../../shared/cursor';
import { BadUserInputError } from '../../shared/errors';
import { isUuid } from '../../shared/ids';
import { readOrderPage } from './order-list';
import { pageSelection } from './order-page';
import { decodeOrderCursor, ORDER_PAGE_COLUMNS, type OrderCursor } from './order.cursor';
import type { OrderStatus, PaymentMethod } from './order.entity';
import type { OrderPage } from './order.service';

/** What an admin may narrow the order list to; every given part must hold (AND). */
export interface OrderSearchFilter {
  status?: OrderStatus | null;
  customerId?: string | null;
  planId?: string | null;
  /** ORD-000123; case, surrounding spaces, the prefix and leading zeros do not matter. */
  number?: string | null;
  paymentMethod?: PaymentMethod | null;
  /** Created at or after this moment. */
  createdAfter?: Date | null;
  /** Created strictly before this moment. */
  createdBefore?: Date | null;
}

/** A filter checked and normalised: what {@link adminOrdersQuery} binds. */
export interface NormalisedOrderFilter {
  status: OrderStatus | null;
  customerId: string | null;
  planId: string | null;
  number: string | null;
  paymentMethod: PaymentMethod | null;
  createdAfter: Date | null;
  createdBefore: Date | null;
}

const NUMBER = /^\s*(?:ORD-?)?0*(\d{1,18})\s*$/i;

/**
 * Checks a filter: BAD_USER_INPUT naming the part at fault for a plan id that is no UUID, a number that
 * is no order number, or a date range that holds no moment. The `filter.` prefix of the field names the
 * argument the part came in.
 */
export function normaliseOrderFilter(f: OrderSearchFilter | null | undefined): NormalisedOrderFilter {
  const planId = f?.planId ?? null;
  if (planId !== null && !isUuid(planId)) throw BadUserInputError.field('filter.planId', 'not a plan id');
  let number: string | null = null;
  if (f?.number != null) {
    const m = NUMBER.exec(f.number);
    if (!m) throw BadUserInputError.field('filter.number', 'not an order number (e.g. ORD-000123)');
    number = `ORD-${m[1].padStart(6, '0')}`;
  }
  const createdAfter = f?.createdAfter ?? null;
  const createdBefore = f?.createdBefore ?? null;
  if (createdAfter && createdBefore && createdBefore.getTime() <= createdAfter.getTime()) {
    throw BadUserInputError.field('filter.createdBefore', 'must be later than createdAfter');
  }
  return {
    status: f?.status ?? null,
    customerId: f?.customerId ?? null,
    planId: planId?.toLowerCase() ?? null,
    number,
    paymentMethod: f?.paymentMethod ?? null,
    createdAfter,
    createdBefore,
  };
}

/**
 * The keyset query of the admin order list: the orders matching `f`, newest first, strictly after the
 * cursor, `limit` rows. Each filter an admin starts from is the leading column of an index whose tail is
 * (created_at, id), so the database walks that index backwards from the cursor and stops after `limit`
 * matches whatever the table size: customer (`order_customer_created_idx`, also with a status: a
 * customer's orders are few, and an index led by the customer and the status cost every status change
 * of an order a write, see migrations/Migration20261206040000_LeanerWriteIndexes.ts), plan
 * (`order_plan_created_idx`, with a status `order_plan_status_created_idx`), status
 * (`order_status_created_idx`). A number is unique
 * (`order_number_unique`). The rest (no filter, a date range, a payment method) walk
 * `order_created_utc_idx`.
 *
 * That last index sorts by creation time read as UTC: the same order as created_at, but an expression,
 * and only lists without a leading filter sort by it. So the planner can never serve a customer, plan or
 * status list from it, skipping the rows that fail the filter: its statistics favour that for a filter
 * many rows pass, and it reads most of the table when those rows are old (a retired plan's orders).
 */
export function adminOrdersQuery(f: NormalisedOrderFilter, after: OrderCursor | null, limit: number): { sql: string; params: unknown[] } {
  const led = f.customerId !== null || f.planId !== null || f.status !== null;
  const key = led ? 'created_at' : `(created_at at time zone 'UTC')`;
  const asKey = (timestamptz: string) => (led ? timestamptz : `(${timestamptz} at time zone 'UTC')`);
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (condition: string, ...values: unknown[]) => {
    where.push(condition);
    params.push(...values);
  };
  if (f.customerId !== null) add('customer_id = ?', f.customerId);
  if (f.planId !== null) add('plan_id = ?::uuid', f.planId);
  if (f.status !== null) add('status = ?', f.status);
  if (f.number !== null) add('number = ?', f.number);
  if (f.paymentMethod !== null) add('payment_method = ?', f.paymentMethod);
  if (f.createdAfter !== null) add(`${key} >= ${asKey('?::timestamptz')}`, f.createdAfter.toISOString());
  if (f.createdBefore !== null) add(`${key} < ${asKey('?::timestamptz')}`, f.createdBefore.toISOString());
  if (after) add(`(${key}, id) < (${asKey(timestampFromMicros)}, ?::uuid)`, after.createdAtMicros, after.id);
  params.push(limit);
  const sql = `select ${ORDER_PAGE_COLUMNS}
    from "order"${where.length ? `\n   where ${where.join('\n     and ')}` : ''}
   order by ${key} desc, id desc
   limit ?`;
  return { sql, params };
}

/**
 * Admin: orders matching the filter (AND of its parts), newest first, by keyset pagination: pages stay
 * stable while orders are added (new ones sort before the first page). `first` 1 to 100, default 20;
 * `after` a cursor of this list (BAD_USER_INPUT otherwise).
 */
export async function searchOrders(
  em: EntityManager,
  args: { filter?: OrderSearchFilter | null; first?: number | null; after?: string | null },
  fields: Iterable<string> | null = null,
): Promise<OrderPage> {
  const { first, after } = pageRequest(args, decodeOrderCursor);
  return readOrderPage(em, adminOrdersQuery(normaliseOrderFilter(args.filter), after, first + 1), first, pageSelection(fields));
}
