import type { BenchContext } from '../lib/context';
import { scalar } from '../lib/database';
import { HELLO_NAME, helloLoad, withHello } from '../lib/hello';
import { cpuPerAnswer, httpLoad } from '../lib/load';
import { latencyRatio, throughputResult, type ScenarioResult } from '../lib/report';
import { growOrders, seedCustomersWithOrders } from '../lib/seed';
import { inTurns, withSmallTable } from '../lib/small-table';
import { tokens } from '../lib/tokens';

const MY_ORDERS = JSON.stringify({
  query: `query MyOrders { myOrders(first: 20) { edges { cursor node { id number status total { amount currency } createdAt paidAt version plan { id name } } } pageInfo { hasNextPage endCursor } } }`,
});
const CONNECTIONS = 32;
const PER_CUSTOMER = 50;
/** Customers whose pages are read: 20 customers with 50 orders each make the 1,000-row table. */
const READERS = 20;

/**
 * myOrders(first: 20) of customers holding 50 orders each, in a table of 1,000 orders and in one of
 * `bigOrders` orders (other customers' rows added by SQL, then ANALYZE). Must run before any other
 * scenario creates orders. The big table is the bench's own, grown; the small one a copy of the
 * readers' rows, put in its place in turns (see {@link withSmallTable}), so one API process reads both.
 * Two lines: throughput on the big table against Apollo's hello at the same concurrency (>= 0.2x), and
 * mean latency at 32 connections on the big table against the same on the small one (<= 1.2x). All
 * three are measured in quarters, in turns (small, hello, big, big, hello, small, then mirrored; see {@link inTurns}),
 * each warmed up first, so that each comparison's two sides are measured in the same minutes and a
 * machine that speeds up or slows down weighs on both alike.
 */
export async function myOrdersScenario(ctx: BenchContext): Promise<ScenarioResult[]> {
  const { pool, base, sizes } = ctx;
  const existing = await scalar<string>(pool, `select count(*) from "order"`);
  if (Number(existing) !== 0) throw new Error(`myOrders needs an empty order table first (found ${existing} rows)`);
  const order = { planId: base.planId, price: base.planPrice };
  await seedCustomersWithOrders(pool, { prefix: 'mo-', from: 0, to: READERS, perCustomer: PER_CUSTOMER, ...order, status: 'DELIVERED' });
  const bigRows = await growOrders(pool, { prefix: 'bulk-', total: sizes.bigOrders, perCustomer: PER_CUSTOMER, ...order }, (line) => ctx.log(line));
  const auth = (await tokens(Array.from({ length: READERS }, (_, i) => `mo-${i}`))).map((t) => `Bearer ${t}`);
  let i = 0;
  const next = () => ({ body: MY_ORDERS, headers: { authorization: auth[i++ % auth.length] } });
  const verify = (b: string) => b.startsWith('{"data":{"myOrders":{"edges":[') && !b.includes('"errors":') && (b.match(/"cursor":/g)?.length ?? 0) === 20;
  const api = await ctx.api();
  const pages = (seconds: number) => httpLoad({ url: api.url, connections: CONNECTIONS, seconds, warmupSeconds: 0, next, verify, cpuOf: () => api.cpuMs() });

  return withSmallTable(pool, `customer_id like 'mo-%'`, async (place, smallRows) => {
    // Each side's warm-up as long as a run: neither may pay for the JIT's warm-up.
    const warmupSeconds = Math.max(sizes.warmup, sizes.duration);
    const runs = await withHello(async (helloServer) => {
      await helloLoad(helloServer, sizes.warmup, 0);
      return inTurns(place, sizes.duration, warmupSeconds, pages, { name: 'hello', load: (seconds) => helloLoad(helloServer, seconds, 0) });
    });
    const { big, turns } = runs;
    const hello = runs.ceiling!;
    ctx.log(`myOrders on ${smallRows} orders: ${runs.small.rps.toFixed(0)} req/s, mean ${runs.small.mean.toFixed(1)} ms`);
    ctx.log(`myOrders on ${bigRows} orders: ${big.rps.toFixed(0)} req/s, mean ${big.mean.toFixed(1)} ms; hello ${hello.rps.toFixed(0)} req/s (turns: ${turns})`);

    const inBig = `in ${bigRows.toLocaleString('en-US')} orders`;
    return [
      throughputResult(
        `myOrders(first: 20), 50 orders of ${READERS} customers, ${inBig}, c=32, vs hello`,
        big,
        hello,
        `${HELLO_NAME}, in this scenario's turns`,
        0.2,
        `Measured on the big table, in quarters interleaved with hello and the small table (${turns}); on ${smallRows.toLocaleString('en-US')} orders: ${runs.small.rps.toFixed(0)} req/s (${(runs.small.rps / hello.rps).toFixed(2)}x). ` +
          `API process CPU per page: ${cpuPerAnswer(big).toFixed(2)} ms (${cpuPerAnswer(runs.small).toFixed(2)} ms on the small table).`,
      ),
      latencyRatio(`myOrders(first: 20), 50 orders of ${READERS} customers, ${inBig} vs ${smallRows.toLocaleString('en-US')}, c=32`, big, runs.small, `same on ${smallRows.toLocaleString('en-US')} orders, in turns with it`, 1.2),
    ];
  });
}
