import type { BenchContext } from '../lib/context';
import { scalar } from '../lib/database';
import { HELLO_NAME } from '../lib/hello';
import { httpLoad, type LoadResult } from '../lib/load';
import { throughputResult, type ScenarioResult } from '../lib/report';
import { seedCustomers, seedOrders } from '../lib/seed';
import { tokens } from '../lib/tokens';

const MY_ORDERS = JSON.stringify({
  query: `query MyOrders { myOrders(first: 20) { edges { cursor node { id number status total { amount currency } createdAt paidAt version plan { id name } } } pageInfo { hasNextPage endCursor } } }`,
});
const CONNECTIONS = 32;
const PER_CUSTOMER = 50;
/** Customers whose pages are read: 20 customers with 50 orders each make the 1,000-row table. */
const READERS = 20;

/**
 * myOrders(first: 20) of customers holding 50 orders each, in a table of 1,000 orders, then of
 * `bigOrders` orders (other customers' rows added by SQL, then ANALYZE). Must run before any other
 * scenario creates orders. Two lines: throughput on the big table against Apollo's hello at the same
 * concurrency (>= 0.2x), and mean latency at 32 connections on the big table against the same on the
 * 1,000-row table (<= 1.2x).
 */
export async function myOrdersScenario(ctx: BenchContext): Promise<ScenarioResult[]> {
  const { pool, base, sizes } = ctx;
  const existing = await scalar<string>(pool, `select count(*) from "order"`);
  if (Number(existing) !== 0) throw new Error(`myOrders needs an empty order table first (found ${existing} rows)`);
  const hello = await ctx.hello();

  await seedCustomers(pool, 'mo-', 0, READERS);
  await seedOrders(pool, { prefix: 'mo-', from: 0, to: READERS, perCustomer: PER_CUSTOMER, planId: base.planId, price: base.planPrice, status: 'DELIVERED' });
  await pool.query('analyze');
  const auth = (await tokens(Array.from({ length: READERS }, (_, i) => `mo-${i}`))).map((t) => `Bearer ${t}`);
  let i = 0;
  const next = () => ({ body: MY_ORDERS, headers: { authorization: auth[i++ % auth.length] } });
  const verify = (b: string) => b.startsWith('{"data":{"myOrders":{"edges":[') && !b.includes('"errors":') && (b.match(/"cursor":/g)?.length ?? 0) === 20;

  const api = await ctx.api();
  // Both runs get a warm-up as long as the run: the first one must not pay for the JIT's warm-up alone.
  const warmupSeconds = Math.max(sizes.warmup, sizes.duration);
  const small = await httpLoad({ url: api.url, connections: CONNECTIONS, seconds: sizes.duration, warmupSeconds, next, verify });
  const smallRows = Number(await scalar<string>(pool, `select count(*) from "order"`));
  ctx.log(`myOrders on ${smallRows} orders: ${small.rps.toFixed(0)} req/s, mean ${small.mean} ms`);

  const started = Date.now();
  const others = Math.ceil((sizes.bigOrders - smallRows) / PER_CUSTOMER);
  // In slices, so one statement never holds a huge transaction.
  const slice = 2_000;
  for (let from = 0; from < others; from += slice) {
    const to = Math.min(others, from + slice);
    await seedCustomers(pool, 'bulk-', from, to);
    await seedOrders(pool, { prefix: 'bulk-', from, to, perCustomer: PER_CUSTOMER, planId: base.planId, price: base.planPrice, status: 'DELIVERED' });
  }
  await pool.query('vacuum analyze "order"');
  const bigRows = Number(await scalar<string>(pool, `select count(*) from "order"`));
  ctx.log(`seeded ${bigRows} orders in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const big = await httpLoad({ url: api.url, connections: CONNECTIONS, seconds: sizes.duration, warmupSeconds, next, verify });
  ctx.log(`myOrders on ${bigRows} orders: ${big.rps.toFixed(0)} req/s, mean ${big.mean} ms`);

  const inBig = `in ${bigRows.toLocaleString('en-US')} orders`;
  return [
    throughputResult(
      `myOrders(first: 20), 50 orders of ${READERS} customers, ${inBig}, c=32, vs hello`,
      big,
      hello,
      HELLO_NAME,
      0.2,
      `Measured on the big table; on ${smallRows.toLocaleString('en-US')} orders: ${small.rps.toFixed(0)} req/s (${(small.rps / hello.rps).toFixed(2)}x).`,
    ),
    latencyRatio(`myOrders(first: 20), 50 orders of ${READERS} customers, ${inBig} vs ${smallRows.toLocaleString('en-US')}, c=32`, big, small, `same on ${smallRows.toLocaleString('en-US')} orders`, 1.2),
  ];
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
