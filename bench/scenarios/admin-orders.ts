import type { BenchContext } from '../lib/context';
import { scalar } from '../lib/database';
import { httpLoad, type LoadResult } from '../lib/load';
import type { ScenarioResult } from '../lib/report';
import { seedCustomers, seedOrders } from '../lib/seed';
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
 * of 20, on a table of 1,000 orders and then of `bigOrders` (delivered orders of other customers added by
 * SQL, created within the same minutes as the listed ones, then VACUUM ANALYZE). PENDING orders are 100
 * of the big table, so without an index led by status the database would read past the delivered ones.
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
    await seedCustomers(pool, 'ao-r', 0, READERS);
    await seedOrders(pool, { prefix: 'ao-r', from: 0, to: READERS, perCustomer: PER_READER, ...order, status: 'DELIVERED' });
    await seedCustomers(pool, 'ao-p', 0, PENDING_HOLDERS, PER_HOLDER);
    await seedOrders(pool, { prefix: 'ao-p', from: 0, to: PENDING_HOLDERS, perCustomer: PER_HOLDER, ...order, status: 'PENDING' });
    await pool.query('vacuum analyze "order"');

    const auth = `Bearer ${await token('ao-admin', 'admin')}`;
    let i = 0;
    const byCustomer = () => ({ body: JSON.stringify({ query: ADMIN_ORDERS, variables: { filter: { customerId: `ao-r${i++ % READERS}` } } }), headers: { authorization: auth } });
    const pendingBody = JSON.stringify({ query: ADMIN_ORDERS, variables: { filter: { status: 'PENDING' } } });
    const byStatus = () => ({ body: pendingBody, headers: { authorization: auth } });
    const verify = (b: string) => b.startsWith('{"data":{"orders":{"edges":[') && !b.includes('"errors":') && (b.match(/"cursor":/g)?.length ?? 0) === 20;

    const api = await ctx.api();
    // Every run gets a warm-up as long as itself: the first must not pay for the JIT's warm-up alone.
    const run = (next: typeof byStatus) => httpLoad({ url: api.url, connections: CONNECTIONS, seconds: sizes.duration, warmupSeconds: Math.max(sizes.warmup, sizes.duration), next, verify });
    const smallRows = Number(await scalar<string>(pool, `select count(*) from "order"`));
    const small = { customer: await run(byCustomer), status: await run(byStatus) };
    ctx.log(`orders on ${smallRows} orders: by customer mean ${small.customer.mean} ms, by status mean ${small.status.mean} ms`);

    const started = Date.now();
    const others = Math.ceil((sizes.bigOrders - smallRows) / PER_BULK_CUSTOMER);
    // In slices, so one statement never holds a huge transaction.
    for (let from = 0; from < others; from += 2_000) {
      const to = Math.min(others, from + 2_000);
      await seedCustomers(pool, 'ao-bulk-', from, to);
      await seedOrders(pool, { prefix: 'ao-bulk-', from, to, perCustomer: PER_BULK_CUSTOMER, ...order, status: 'DELIVERED' });
    }
    await pool.query('vacuum analyze "order"');
    const bigRows = Number(await scalar<string>(pool, `select count(*) from "order"`));
    ctx.log(`seeded ${bigRows} orders in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const big = { customer: await run(byCustomer), status: await run(byStatus) };
    ctx.log(`orders on ${bigRows} orders: by customer mean ${big.customer.mean} ms, by status mean ${big.status.mean} ms`);

    const sizesText = `in ${bigRows.toLocaleString('en-US')} vs ${smallRows.toLocaleString('en-US')} orders, c=32`;
    const ceilingName = `same on ${smallRows.toLocaleString('en-US')} orders`;
    return [
      latencyRatio(`admin orders(filter: {customerId}, first: 20), ${PER_READER} orders of ${READERS} customers, ${sizesText}`, big.customer, small.customer, ceilingName, 1.5),
      latencyRatio(`admin orders(filter: {status: PENDING}, first: 20), ${PENDING_HOLDERS * PER_HOLDER} pending, ${sizesText}`, big.status, small.status, ceilingName, 1.5),
    ];
  }
}

/** A latency line: mean latency against a ceiling run's, with a maximum ratio as goal. */
function latencyRatio(name: string, r: LoadResult, ceiling: LoadResult, ceilingName: string, maxRatio: number): ScenarioResult {
  const ratio = r.mean / ceiling.mean;
  const failures = r.failed + ceiling.failed > 0 ? `${r.failed + ceiling.failed} failed answers (first: ${r.firstFailure ?? ceiling.firstFailure}). ` : '';
  return {
    name,
    value: r.mean,
    unit: 'ms mean latency',
    ceiling: ceiling.mean,
    ceilingName,
    ratio,
    goal: `<= ${maxRatio}x`,
    met: r.failed + ceiling.failed === 0 && ratio <= maxRatio,
    throughput: r.rps,
    p50Ms: r.p50,
    p99Ms: r.p99,
    notes:
      `${failures}Small table: ${ceiling.rps.toFixed(0)} req/s, p50 ${ceiling.p50} ms, p99 ${ceiling.p99} ms. ` +
      'Mean latency of a closed loop at 32 connections (the inverse of throughput); ratio = big / small.',
  };
}
