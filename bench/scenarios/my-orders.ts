import type { BenchContext } from '../lib/context';
import { cleanCheckpoint, scalar } from '../lib/database';
import { HELLO_NAME, helloLoad, withHello } from '../lib/hello';
import { combineLoads, cpuPerAnswer, httpLoad } from '../lib/load';
import { latencyRatio, throughputResult, type ScenarioResult } from '../lib/report';
import { growOrders, seedCustomersWithOrders } from '../lib/seed';
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
 * concurrency (>= 0.2x), the two measured in halves interleaved as hello, myOrders, myOrders, hello, so
 * both are measured in the same minute; and mean latency at 32 connections on the big table against
 * the same on the 1,000-row table (<= 1.2x).
 */
export async function myOrdersScenario(ctx: BenchContext): Promise<ScenarioResult[]> {
  const { pool, base, sizes } = ctx;
  const existing = await scalar<string>(pool, `select count(*) from "order"`);
  if (Number(existing) !== 0) throw new Error(`myOrders needs an empty order table first (found ${existing} rows)`);
  await seedCustomersWithOrders(pool, { prefix: 'mo-', from: 0, to: READERS, perCustomer: PER_CUSTOMER, planId: base.planId, price: base.planPrice, status: 'DELIVERED' });
  await pool.query('analyze');
  const auth = (await tokens(Array.from({ length: READERS }, (_, i) => `mo-${i}`))).map((t) => `Bearer ${t}`);
  let i = 0;
  const next = () => ({ body: MY_ORDERS, headers: { authorization: auth[i++ % auth.length] } });
  const verify = (b: string) => b.startsWith('{"data":{"myOrders":{"edges":[') && !b.includes('"errors":') && (b.match(/"cursor":/g)?.length ?? 0) === 20;

  const api = await ctx.api();
  // Both runs get a warm-up as long as the run: the first one must not pay for the JIT's warm-up alone.
  const warmupSeconds = Math.max(sizes.warmup, sizes.duration);
  const cpuOf = () => api.cpuMs();
  await cleanCheckpoint(pool);
  const small = await httpLoad({ url: api.url, connections: CONNECTIONS, seconds: sizes.duration, warmupSeconds, next, verify, cpuOf });
  const smallRows = Number(await scalar<string>(pool, `select count(*) from "order"`));
  ctx.log(`myOrders on ${smallRows} orders: ${small.rps.toFixed(0)} req/s, mean ${small.mean} ms`);

  const bigRows = await growOrders(pool, { prefix: 'bulk-', total: sizes.bigOrders, perCustomer: PER_CUSTOMER, planId: base.planId, price: base.planPrice }, (line) => ctx.log(line));
  // As the small table was: the million rows just written and vacuumed leave the buffers dirty, and a
  // checkpoint writing them out during the measurement would weigh on the big table alone.
  await cleanCheckpoint(pool);

  // Against hello in halves, interleaved as hello, myOrders, myOrders, hello (each warmed up first),
  // so a machine that speeds up or slows down during the runs weighs on both alike: hello measured at
  // the start of the bench, minutes before, would compare two different machines.
  const half = sizes.duration / 2;
  const pages = (seconds: number) => httpLoad({ url: api.url, connections: CONNECTIONS, seconds, warmupSeconds: 0, next, verify, cpuOf });
  const { big, hello, halves } = await withHello(async (helloServer) => {
    await helloLoad(helloServer, sizes.warmup, 0);
    await pages(warmupSeconds);
    const h1 = await helloLoad(helloServer, half, 0);
    const b1 = await pages(half);
    const b2 = await pages(half);
    const h2 = await helloLoad(helloServer, half, 0);
    return {
      big: combineLoads([b1, b2]),
      hello: combineLoads([h1, h2]),
      halves: `hello ${h1.rps.toFixed(0)}, myOrders ${b1.rps.toFixed(0)}, myOrders ${b2.rps.toFixed(0)}, hello ${h2.rps.toFixed(0)} req/s`,
    };
  });
  ctx.log(`myOrders on ${bigRows} orders: ${big.rps.toFixed(0)} req/s, mean ${big.mean.toFixed(1)} ms; hello ${hello.rps.toFixed(0)} req/s (halves: ${halves})`);

  const inBig = `in ${bigRows.toLocaleString('en-US')} orders`;
  return [
    throughputResult(
      `myOrders(first: 20), 50 orders of ${READERS} customers, ${inBig}, c=32, vs hello`,
      big,
      hello,
      `${HELLO_NAME}, in this scenario's halves`,
      0.2,
      `Measured on the big table, in halves interleaved with hello (${halves}); on ${smallRows.toLocaleString('en-US')} orders: ${small.rps.toFixed(0)} req/s (${(small.rps / hello.rps).toFixed(2)}x). ` +
        `API process CPU per page: ${cpuPerAnswer(big).toFixed(2)} ms (${cpuPerAnswer(small).toFixed(2)} ms on the small table).`,
    ),
    latencyRatio(`myOrders(first: 20), 50 orders of ${READERS} customers, ${inBig} vs ${smallRows.toLocaleString('en-US')}, c=32`, big, small, `same on ${smallRows.toLocaleString('en-US')} orders`, 1.2),
  ];
}
