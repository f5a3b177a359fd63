import type { BenchContext } from '../lib/context';
import { scalar } from '../lib/database';
import { httpLoad } from '../lib/load';
import { latencyRatio, type ScenarioResult } from '../lib/report';
import { growOrders, seedCustomersWithOrders } from '../lib/seed';
import { inTurns, withSmallTable } from '../lib/small-table';
import { token } from '../lib/tokens';

const ADMIN_ORDERS = `query AdminOrders($filter: OrderFilter) { orders(filter: $filter, first: 20) { edges { cursor node { id number status total { amount currency } createdAt paidAt version plan { id name } } } pageInfo { hasNextPage endCursor } } }`;
const CONNECTIONS = 32;
/** Customers whose orders are listed by `customerId`: 20 of them with 45 delivered orders each. */
const READERS = 20;
const PER_READER = 45;
/** Customers holding the PENDING orders listed by `status`: 20 with 5 each, so 1,000 orders in all. */
const PENDING_HOLDERS = 20;
const PER_HOLDER = 5;
/** Orders per customer of the bulk that makes the big table. */
const PER_BULK_CUSTOMER = 50;

/**
 * The back office's `orders(filter: {customerId})` and `orders(filter: {status: PENDING})`, first page
 * of 20, on a table of 1,000 orders and on one of `bigOrders` (delivered orders of other customers added
 * by SQL, created within the same minutes as the listed ones, then VACUUM ANALYZE). PENDING orders are
 * 100 of the big table, so without an index led by status the database would read past the delivered
 * ones. The big table is the bench's own, grown; the small one a copy of the listed customers' rows,
 * put in its place in turns (see {@link withSmallTable}), so one API process reads both; each query is
 * measured on both in turns (small, big, big, small, big, small, small, big; see {@link inTurns}), in the same minutes.
 * Value: mean latency at 32 connections on the big table; ceiling: the same on the small one; goal <= 1.5x.
 *
 * It needs an empty order table and empties it again when done (TRUNCATE), so the groups after it that
 * need one (myorders) find it so; it runs before them.
 */
export async function adminOrdersScenario(ctx: BenchContext): Promise<ScenarioResult[]> {
  const { pool, base, sizes } = ctx;
  const existing = await scalar<string>(pool, `select count(*) from "order"`);
  if (Number(existing) !== 0) throw new Error(`adminorders needs an empty order table first (found ${existing} rows)`);
  try {
    return await measure(ctx);
  } finally {
    // The ledger refuses TRUNCATE (its trigger); the bench's own seed rows go with replication triggers off.
    await pool.query(`begin; set local session_replication_role = replica; truncate "order" cascade; commit;`);
    await pool.query(`delete from customer where id like 'ao-%'`);
    await pool.query('vacuum analyze "order"');
  }

  async function measure(ctx: BenchContext): Promise<ScenarioResult[]> {
    const order = { planId: base.planId, price: base.planPrice };
    await seedCustomersWithOrders(pool, { prefix: 'ao-r', from: 0, to: READERS, perCustomer: PER_READER, ...order, status: 'DELIVERED' });
    await seedCustomersWithOrders(pool, { prefix: 'ao-p', from: 0, to: PENDING_HOLDERS, perCustomer: PER_HOLDER, ...order, status: 'PENDING' });
    const bigRows = await growOrders(pool, { prefix: 'ao-bulk-', total: sizes.bigOrders, perCustomer: PER_BULK_CUSTOMER, ...order }, (line) => ctx.log(line));

    const auth = `Bearer ${await token('ao-admin', 'admin')}`;
    let i = 0;
    const byCustomer = () => ({ body: JSON.stringify({ query: ADMIN_ORDERS, variables: { filter: { customerId: `ao-r${i++ % READERS}` } } }), headers: { authorization: auth } });
    const pendingBody = JSON.stringify({ query: ADMIN_ORDERS, variables: { filter: { status: 'PENDING' } } });
    const byStatus = () => ({ body: pendingBody, headers: { authorization: auth } });
    const verify = (b: string) => b.startsWith('{"data":{"orders":{"edges":[') && !b.includes('"errors":') && (b.match(/"cursor":/g)?.length ?? 0) === 20;
    const api = await ctx.api();
    const loadOf = (next: typeof byStatus) => (seconds: number) => httpLoad({ url: api.url, connections: CONNECTIONS, seconds, warmupSeconds: 0, next, verify });

    return withSmallTable(pool, `customer_id like 'ao-r%' or customer_id like 'ao-p%'`, async (place, smallRows) => {
      // Each side's warm-up as long as a run: neither may pay for the JIT's warm-up.
      const turns = (next: typeof byStatus) => inTurns(place, sizes.duration, Math.max(sizes.warmup, sizes.duration), loadOf(next));
      const customer = await turns(byCustomer);
      const status = await turns(byStatus);
      ctx.log(`orders on ${smallRows} orders: by customer mean ${customer.small.mean.toFixed(1)} ms, by status mean ${status.small.mean.toFixed(1)} ms`);
      ctx.log(`orders on ${bigRows} orders: by customer mean ${customer.big.mean.toFixed(1)} ms, by status mean ${status.big.mean.toFixed(1)} ms (by customer ${customer.turns}; by status ${status.turns})`);

      const sizesText = `in ${bigRows.toLocaleString('en-US')} vs ${smallRows.toLocaleString('en-US')} orders, c=32`;
      const ceilingName = `same on ${smallRows.toLocaleString('en-US')} orders, in turns with it`;
      return [
        latencyRatio(`admin orders(filter: {customerId}, first: 20), ${PER_READER} orders of ${READERS} customers, ${sizesText}`, customer.big, customer.small, ceilingName, 1.5),
        latencyRatio(`admin orders(filter: {status: PENDING}, first: 20), ${PENDING_HOLDERS * PER_HOLDER} pending, ${sizesText}`, status.big, status.small, ceilingName, 1.5),
      ];
    });
  }
}
