import { carefulName, carefulTps } from '../lib/careful';
import type { BenchContext } from '../lib/context';
import { cleanCheckpoint } from '../lib/database';
import { combineLoads, cpuPerAnswer, httpLoad } from '../lib/load';
import { throughputResult, type ScenarioResult } from '../lib/report';
import { seedCustomers } from '../lib/seed';
import { tokens } from '../lib/tokens';

const CREATE = 'mutation Create($input: CreateOrderInput!) { createOrder(input: $input) { id number status couponCode total { amount currency } version } }';
const CONNECTIONS = 32;
const CUSTOMERS = 1_000;

/**
 * createOrder at 32 connections from 1,000 customers in turn, every request a new order: without a
 * coupon, against the careful wallet payment at the same concurrency (a write transaction done with
 * care is the yardstick of any order write); and with one popular coupon (maxUses 100,000,000), whose
 * uses every request counts, against the run without, the two measured interleaved.
 */
export async function createOrderScenarios(ctx: BenchContext): Promise<ScenarioResult[]> {
  const { sizes, base } = ctx;
  const careful = await ctx.careful();
  const carefulRps = carefulTps(careful, CONNECTIONS);
  await seedCustomers(ctx.pool, 'co-', 0, CUSTOMERS);
  const auth = (await tokens(Array.from({ length: CUSTOMERS }, (_, i) => `co-${i}`))).map((t) => `Bearer ${t}`);
  const api = await ctx.api();
  let i = 0;
  const run = async (couponCode: string | null, seconds: number) => {
    const body = JSON.stringify({ query: CREATE, variables: { input: { planId: base.planId, ...(couponCode ? { couponCode } : {}) } } });
    return httpLoad({
      url: api.url,
      connections: CONNECTIONS,
      seconds,
      warmupSeconds: 0,
      next: () => ({ body, headers: { authorization: auth[i++ % auth.length] } }),
      verify: (b) => b.startsWith('{"data":{"createOrder":{') && b.includes('"status":"PENDING"') && !b.includes('"errors":'),
      cpuOf: () => api.cpuMs(),
    });
  };
  // The two loads are measured in halves, interleaved as without, with, with, without (both warmed up
  // first), so a drift of the shared machine during the runs weighs on both alike instead of on the
  // second one only; the table grows by the same orders under both. Each half starts from a clean
  // checkpoint, as the payment's parts do: a checkpoint that the WAL of one half set off would
  // otherwise slow the next half alone (full-page writes), whichever load it is.
  const half = sizes.duration / 2;
  if (sizes.warmup > 0) {
    await run(null, sizes.warmup);
    await run(base.couponCode, sizes.warmup);
  }
  const measured = async (couponCode: string | null) => {
    await cleanCheckpoint(ctx.pool);
    return run(couponCode, half);
  };
  const p1 = await measured(null);
  const c1 = await measured(base.couponCode);
  const c2 = await measured(base.couponCode);
  const p2 = await measured(null);
  const plain = combineLoads([p1, p2]);
  const withCoupon = combineLoads([c1, c2]);
  const halves = (a: number, b: number) => `halves ${a.toFixed(0)} and ${b.toFixed(0)} req/s`;
  ctx.log(`createOrder without coupon: ${plain.rps.toFixed(0)} req/s (${(plain.rps / carefulRps).toFixed(2)}x the careful ceiling; ${halves(p1.rps, p2.rps)}), API CPU ${cpuPerAnswer(plain).toFixed(2)} ms per order`);
  ctx.log(`createOrder with the popular coupon: ${withCoupon.rps.toFixed(0)} req/s (${halves(c1.rps, c2.rps)}), API CPU ${cpuPerAnswer(withCoupon).toFixed(2)} ms per order`);
  const { rows } = await ctx.pool.query<{ used_count: number }>(
    `select coalesce(sum(u.used), 0)::int as used_count from coupon c join coupon_use u on u.coupon_id = c.id where c.code_key = $1`,
    [base.couponCode],
  );
  const plainVsCareful = `${(plain.rps / carefulRps).toFixed(2)}x the careful ceiling at c=${CONNECTIONS}, ${carefulRps.toFixed(0)} tps`;
  return [
    throughputResult(`createOrder, no coupon, c=${CONNECTIONS}`, plain, { rps: carefulRps }, carefulName(CONNECTIONS), 0.25, `API process CPU per order: ${cpuPerAnswer(plain).toFixed(2)} ms. ${careful.describe}`),
    throughputResult(
      `createOrder, one popular coupon, c=${CONNECTIONS}`,
      withCoupon,
      plain,
      `createOrder without coupon, c=${CONNECTIONS}; itself ${plainVsCareful}`,
      0.9,
      `Measured interleaved with the run without, in halves each from a clean checkpoint (without, with, with, without: ${p1.rps.toFixed(0)}, ${c1.rps.toFixed(0)}, ${c2.rps.toFixed(0)}, ${p2.rps.toFixed(0)} req/s). API process CPU per order: ${cpuPerAnswer(withCoupon).toFixed(2)} ms. Coupon used ${rows[0]?.used_count ?? '?'} times in the run (warm-up included). With the coupon: ${(withCoupon.rps / carefulRps).toFixed(2)}x the careful ceiling.`,
    ),
  ];
}
