import { carefulName, carefulTps } from '../lib/careful';
import type { BenchContext } from '../lib/context';
import { cleanStart } from '../lib/database';
import { combineLoads, cpuPerAnswer, httpLoad, type LoadResult } from '../lib/load';
import { throughputResult, type ScenarioResult } from '../lib/report';
import { seedCustomers } from '../lib/seed';
import { nowMs, profileWindowNote } from '../lib/stats';
import { tokens } from '../lib/tokens';

const CREATE = 'mutation Create($input: CreateOrderInput!) { createOrder(input: $input) { id number status couponCode total { amount currency } version } }';
const CONNECTIONS = 32;
const CUSTOMERS = 1_000;

/**
 * createOrder at 32 connections from 1,000 customers in turn, every request a new order: without a
 * coupon, against the careful wallet payment at the same concurrency (a write transaction done with
 * care is the yardstick of any order write); and with one popular coupon (maxUses 100,000,000), whose
 * uses every request counts, against the run without, the two measured interleaved in eight parts.
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
  // The two loads are measured in eight parts, interleaved as without, with, with, without, with,
  // without, without, with (both warmed up first), so a drift of the shared machine during the runs
  // weighs on both alike, even one that speeds up or slows down unevenly (the halves of one sequence of
  // four were 836, 821, 985 and 1,336 req/s); the table grows by the same orders under both. Each part
  // starts from a vacuumed database and a clean checkpoint (`cleanStart`), as the payment's parts do:
  // the dead row versions and the WAL one part left would otherwise slow the next part alone, whichever
  // load it is.
  const part = sizes.duration / 4;
  if (sizes.warmup > 0) {
    await run(null, sizes.warmup);
    await run(base.couponCode, sizes.warmup);
  }
  const parts: Array<{ coupon: boolean; load: LoadResult }> = [];
  for (const coupon of [false, true, true, false, true, false, false, true]) {
    await cleanStart(ctx.pool);
    const from = nowMs();
    const load = await run(coupon ? base.couponCode : null, part);
    parts.push({ coupon, load });
    // With --profile, where each part lies in the API's CPU profile (bench/profile-top.ts --window).
    const window = profileWindowNote(from, nowMs());
    if (window) ctx.log(`part ${parts.length}, ${coupon ? 'with' : 'without'} the coupon: ${load.rps.toFixed(0)} req/s${window}`);
  }
  const of = (coupon: boolean) => parts.filter((p) => p.coupon === coupon).map((p) => p.load);
  const plain = combineLoads(of(false));
  const withCoupon = combineLoads(of(true));
  const rates = (loads: readonly LoadResult[]) => loads.map((l) => l.rps.toFixed(0)).join(', ');
  ctx.log(`createOrder without coupon: ${plain.rps.toFixed(0)} req/s (${(plain.rps / carefulRps).toFixed(2)}x the careful ceiling; parts ${rates(of(false))} req/s), API CPU ${cpuPerAnswer(plain).toFixed(2)} ms per order`);
  ctx.log(`createOrder with the popular coupon: ${withCoupon.rps.toFixed(0)} req/s (parts ${rates(of(true))} req/s), API CPU ${cpuPerAnswer(withCoupon).toFixed(2)} ms per order`);
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
      `Measured interleaved with the run without, in eight parts each from a vacuumed database and a clean checkpoint (${parts.map((p) => `${p.coupon ? 'with' : 'without'} ${p.load.rps.toFixed(0)}`).join(', ')} req/s). API process CPU per order: ${cpuPerAnswer(withCoupon).toFixed(2)} ms. Coupon used ${rows[0]?.used_count ?? '?'} times in the run (warm-up included). With the coupon: ${(withCoupon.rps / carefulRps).toFixed(2)}x the careful ceiling.`,
    ),
  ];
}
