import { carefulName, carefulTps } from '../lib/careful';
import type { BenchContext } from '../lib/context';
import { cpuPerAnswer, httpLoad } from '../lib/load';
import { throughputResult, type ScenarioResult } from '../lib/report';
import { seedCustomers } from '../lib/seed';
import { tokens } from '../lib/tokens';

const CREATE = 'mutation Create($input: CreateOrderInput!) { createOrder(input: $input) { id number status couponCode total { amount currency } version } }';
const CONNECTIONS = 32;
const CUSTOMERS = 1_000;

/**
 * createOrder at 32 connections from 1,000 customers in turn, every request a new order: without a
 * coupon, against the careful wallet payment at the same concurrency (a write transaction done with
 * care is the yardstick of any order write); then with one popular coupon (maxUses 100,000,000), whose
 * use counter is the one row every request updates, against the run without.
 */
export async function createOrderScenarios(ctx: BenchContext): Promise<ScenarioResult[]> {
  const { sizes, base } = ctx;
  const careful = await ctx.careful();
  const carefulRps = carefulTps(careful, CONNECTIONS);
  await seedCustomers(ctx.pool, 'co-', 0, CUSTOMERS);
  const auth = (await tokens(Array.from({ length: CUSTOMERS }, (_, i) => `co-${i}`))).map((t) => `Bearer ${t}`);
  const api = await ctx.api();
  const run = async (couponCode: string | null) => {
    let i = 0;
    const body = JSON.stringify({ query: CREATE, variables: { input: { planId: base.planId, ...(couponCode ? { couponCode } : {}) } } });
    return httpLoad({
      url: api.url,
      connections: CONNECTIONS,
      seconds: sizes.duration,
      warmupSeconds: sizes.warmup,
      next: () => ({ body, headers: { authorization: auth[i++ % auth.length] } }),
      verify: (b) => b.startsWith('{"data":{"createOrder":{') && b.includes('"status":"PENDING"') && !b.includes('"errors":'),
      cpuOf: () => api.cpuMs(),
    });
  };
  const plain = await run(null);
  ctx.log(`createOrder without coupon: ${plain.rps.toFixed(0)} req/s (${(plain.rps / carefulRps).toFixed(2)}x the careful ceiling), API CPU ${cpuPerAnswer(plain).toFixed(2)} ms per order`);
  const withCoupon = await run(base.couponCode);
  ctx.log(`createOrder with the popular coupon: ${withCoupon.rps.toFixed(0)} req/s, API CPU ${cpuPerAnswer(withCoupon).toFixed(2)} ms per order`);
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
      `API process CPU per order: ${cpuPerAnswer(withCoupon).toFixed(2)} ms. Coupon used ${rows[0]?.used_count ?? '?'} times in the run (warm-up included). With the coupon: ${(withCoupon.rps / carefulRps).toFixed(2)}x the careful ceiling.`,
    ),
  ];
}
