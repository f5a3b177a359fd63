import type { EntityManager } from '@mikro-orm/postgresql';
import { pageRequest } from '../../shared/cursor';
import { connectionOf, preparedNameOf, runOn } from '../../shared/sql';
import type { Page } from '../../shared/types';
import { readCustomerPage } from './customer-pages';
import { pageOfRows, type PageRow, type PageSelection } from './order-page';
import { decodeOrderCursor } from './order.cursor';
import type { OrderStatus } from './order.entity';
import type { OrderSnapshot } from './order.snapshot';

/**
 * The page statement around a keyset query selecting `ORDER_PAGE_COLUMNS` (order.cursor.ts): the rows
 * the keyset query walked, each with its delivery and its plan's provider. The keyset query keeps its
 * index walk and its limit (a subquery with a limit is never flattened); the joins then touch only the
 * page's rows.
 */
function pageStatement(keyset: string, selection: PageSelection): string {
  return `select ${selection.columns}
    from (${keyset}) o
    ${selection.joins}
   order by o.created_at desc, o.id desc`;
}

/** A page statement and the name it is prepared under. */
interface PreparedPage {
  text: string;
  name: string;
}

/**
 * The page statements made so far, by keyset query and selection: a few shapes (which filters, a cursor
 * or not, which fields), each built once.
 */
const pageStatements = new Map<string, PreparedPage>();

function preparedPage(keyset: string, selection: PageSelection): PreparedPage {
  const key = `${selection.key}\n${keyset}`;
  let page = pageStatements.get(key);
  if (!page) {
    const text = pageStatement(keyset, selection);
    page = { text, name: preparedNameOf('order_page', text) };
    pageStatements.set(key, page);
  }
  return page;
}

/**
 * Reads a page of orders in one statement: `keyset` (a keyset query selecting `ORDER_PAGE_COLUMNS`,
 * newest first, `first + 1` rows at most) and what each row's snapshot needs besides (the columns of
 * `selection`), as plain rows
 * mapped straight to snapshots, the form every `Order` field resolver reads. No entity is made: a page
 * is read-only, and hydrating twenty orders with their plans and deliveries cost more than the rest of
 * the request.
 */
export async function readOrderPage(
  em: EntityManager,
  keyset: { sql: string; params: unknown[] },
  first: number,
  selection: PageSelection,
): Promise<Page<OrderSnapshot>> {
  const page = preparedPage(keyset.sql, selection);
  // A named statement with bind parameters: each connection parses and plans a shape once, then only
  // binds and runs it. Inside em's transaction when it has one.
  const rows = await runOn<PageRow>(connectionOf(em), page.text, keyset.params, page.name);
  return pageOfRows(rows, first);
}

/**
 * A customer's orders (optionally of one status), newest first, by keyset pagination (stable while
 * orders are added): `first` 1 to 100, default 20 (BAD_USER_INPUT outside; a client asking for 1000
 * learns the limit instead of silently getting 100), `after` a cursor from an earlier page
 * (BAD_USER_INPUT when malformed). Served by the customer's index whatever the table size; the pages
 * asked for at the same moment are read by one statement (customer-pages.ts).
 */
export async function listCustomerOrders(
  em: EntityManager,
  customerId: string,
  args: { first?: number | null; after?: string | null; status?: OrderStatus | null },
  selection: PageSelection,
): Promise<Page<OrderSnapshot>> {
  const { first, after } = pageRequest(args, decodeOrderCursor);
  const rows = await readCustomerPage(em, { customerId, status: args.status ?? null, after, limit: first + 1, selection });
  return pageOfRows(rows, first);
}
