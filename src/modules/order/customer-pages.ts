import type { EntityManager, Knex } from '@mikro-orm/postgresql';
import DataLoader from 'dataloader';
import { timestampOfMicros } from '../../shared/cursor';
import { preparedNameOf, runOn, textArray } from '../../shared/sql';
import type { PageRow, PageSelection } from './order-page';
import { ORDER_PAGE_COLUMNS, type OrderCursor } from './order.cursor';
import type { OrderStatus } from './order.entity';

/** One customer's page of orders as asked for, its arguments checked. */
export interface CustomerPageAsk {
  customerId: string;
  status: OrderStatus | null;
  after: OrderCursor | null;
  /** Rows to read: the page size plus one, which tells whether another page follows. */
  limit: number;
  /** The columns to read of each row (see `pageSelection`). */
  selection: PageSelection;
}

/**
 * Which conditions the asks of one statement have besides the customer, and which columns they read
 * (every ask of a statement has the same).
 */
export interface PageShape {
  status: boolean;
  after: boolean;
  selection: PageSelection;
}

/**
 * The statement reading the pages of several {@link CustomerPageAsk}s of one shape, each a keyset page
 * of its own: the asks travel as parallel arrays (one row each, numbered from 1 in `ask`), and each is
 * joined LATERAL to the same keyset query `myOrders` would run alone, so every ask keeps its index walk
 * (`order_customer_created_idx`; with a status, the same walk skips the customer's other orders) and
 * its own limit. Rows come grouped by ask, each ask's newest first.
 * Parameters: customer ids, limits, [statuses], [cursor micros, cursor ids], each an array literal.
 */
export function customerPagesStatement(shape: PageShape): string {
  const arrays = ['?::text[]', '?::int[]'];
  const columns = ['ask_customer', 'ask_limit'];
  const where = ['customer_id = a.ask_customer'];
  if (shape.status) {
    arrays.push('?::text[]');
    columns.push('ask_status');
    where.push('status = a.ask_status');
  }
  if (shape.after) {
    arrays.push('?::bigint[]', '?::uuid[]');
    columns.push('ask_micros', 'ask_id');
    where.push(`(created_at, id) < (${timestampOfMicros('a.ask_micros')}, a.ask_id)`);
  }
  return `select a.ask::int as ask, ${shape.selection.columns}
    from unnest(${arrays.join(', ')}) with ordinality as a(${columns.join(', ')}, ask)
   cross join lateral (
         select ${ORDER_PAGE_COLUMNS}
           from "order"
          where ${where.join('\n            and ')}
          order by created_at desc, id desc
          limit a.ask_limit) o
    ${shape.selection.joins}
   order by a.ask, o.created_at desc, o.id desc`;
}

/** A page row with the number of the ask it answers. */
type AskRow = PageRow & { ask: number };

/** A page statement with the name it is prepared under. */
interface PagesStatement {
  text: string;
  name: string;
}

/**
 * The statements made so far, by shape: four by conditions (a status or not, a cursor or not) for each
 * selection of columns (bounded by `pageSelection`), each built once.
 */
const statements = new Map<string, PagesStatement>();

/** The name of an ask's shape, and its statement. */
function statementOf(ask: CustomerPageAsk): { key: string; statement: PagesStatement } {
  const status = ask.status !== null;
  const after = ask.after !== null;
  const key = `${status ? 's' : '-'}${after ? 'a' : '-'}${ask.selection.key}`;
  let statement = statements.get(key);
  if (!statement) {
    const text = customerPagesStatement({ status, after, selection: ask.selection });
    statement = { text, name: preparedNameOf('order_pages', text) };
    statements.set(key, statement);
  }
  return { key, statement };
}

/**
 * Reads the pages of `asks` (all of one shape) in one statement on `knex` (a connection pool or a
 * transaction): one row set per ask, in the order asked. Prepared under its name, so each connection
 * parses and plans a shape once, then only binds and runs it.
 */
async function readPages(knex: Knex, asks: readonly CustomerPageAsk[]): Promise<PageRow[][]> {
  const { statement } = statementOf(asks[0]);
  const bindings = [textArray(asks.map((a) => a.customerId)), textArray(asks.map((a) => String(a.limit)))];
  if (asks[0].status !== null) bindings.push(textArray(asks.map((a) => a.status!)));
  if (asks[0].after !== null) bindings.push(textArray(asks.map((a) => a.after!.createdAtMicros)), textArray(asks.map((a) => a.after!.id)));
  const rows = await runOn<AskRow>(knex, statement.text, bindings, statement.name);
  const pages: PageRow[][] = asks.map(() => []);
  for (const row of rows) pages[row.ask - 1].push(row);
  return pages;
}

/**
 * Most asks one statement carries; a larger burst is read by several statements, on as many
 * connections. The requests of one statement are answered together when it returns, so its rows and
 * their answers are alive at once, and what the garbage collector copies grows with the batch: at
 * 32 connections, statements of up to 8 asks kept most of the saving on writes while the API process
 * kept a third less alive per page than with batches of a whole turn (12 asks on average).
 */
const MAX_ASKS_PER_STATEMENT = 8;

/**
 * The pages asked for on one connection pool, gathered per event-loop turn: every ask made before the
 * turn's I/O callbacks are done (all the requests that arrived together) is read by one statement per
 * shape, instead of one statement, one socket write and one round trip each. Under load that is what
 * the API process spent most on for a page (each write wakes a PostgreSQL backend).
 */
class CustomerPages {
  private readonly byShape = new Map<string, DataLoader<CustomerPageAsk, PageRow[]>>();

  constructor(private readonly knex: Knex) {}

  read(ask: CustomerPageAsk): Promise<PageRow[]> {
    const { key } = statementOf(ask);
    let loader = this.byShape.get(key);
    if (!loader) {
      loader = this.loader();
      this.byShape.set(key, loader);
    }
    return loader.load(ask);
  }

  private loader(): DataLoader<CustomerPageAsk, PageRow[]> {
    const knex = this.knex;
    return new DataLoader<CustomerPageAsk, PageRow[]>(
      async (asks) => {
        try {
          return await readPages(knex, asks);
        } catch (e) {
          if (asks.length === 1) throw e;
          // One ask must not fail the others (whatever the cause): each is read again alone and answers
          // for itself, as it did before asks were read together.
          return Promise.all(asks.map((ask) => readPages(knex, [ask]).then(([rows]) => rows, (err: unknown) => (err instanceof Error ? err : new Error(String(err))))));
        }
      },
      {
        // Every ask is read afresh: nothing is remembered between turns.
        cache: false,
        maxBatchSize: MAX_ASKS_PER_STATEMENT,
        // After the turn's I/O callbacks: the requests that arrived together have all asked by then.
        batchScheduleFn: (read: () => void) => setImmediate(read),
      },
    );
  }
}

/** The gatherers by connection pool (one per ORM: a process may hold several, as tests do). */
const gatherers = new WeakMap<Knex, CustomerPages>();

/**
 * The rows of one customer's page (at most `ask.limit`, newest first), read together with the other
 * pages asked for in the same event-loop turn. Inside `em`'s transaction, when it has one, the page is
 * read at once and alone, by the same statement, so it sees what the transaction sees.
 */
export async function readCustomerPage(em: EntityManager, ask: CustomerPageAsk): Promise<PageRow[]> {
  const tx = em.getTransactionContext<Knex.Transaction>();
  if (tx) return (await readPages(tx, [ask]))[0];
  const knex: Knex = em.getConnection().getKnex();
  let pages = gatherers.get(knex);
  if (!pages) {
    pages = new CustomerPages(knex);
    gatherers.set(knex, pages);
  }
  return pages.read(ask);
}
