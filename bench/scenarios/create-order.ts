import { carefulName, carefulTps } from '../lib/careful';
import type { BenchContext } from '../lib/context';
import { cleanStart } from '../lib/database';
import { cpuPerAnswer, httpLoad, type LoadResult } from '../lib/load';
import { cpuBetween, machineCpu } from '../lib/machine';
import { throughputResult, type ScenarioResult } from '../lib/report';
import { seedCustomers } from '../lib/seed';
import { nowMs, profileWindowNote } from '../lib/stats';
import { tokens } from '../lib/tokens';
import { balancedPair, takeTurns } from '../lib/turns';

const CREATE = 'mutation Create($input: CreateOrderInput!) { createOrder(input: $input) { id number status couponCode total { amount currency } version } }';
const CONNECTIONS = 32;
const CUSTOMERS = 1_000;
/** Parts the runs with and without the coupon are measured in (see below). */
const COUPON_PARTS = 32;

/**
 * createOrder at 32 connections from 1,000 customers in turn, every request a new order: without a
 * coupon, against the careful wallet payment at the same concurrency (a write transaction done with
 * care is the yardstick of any order write); and with one popular coupon (maxUses 100,000,000), whose
 * uses every request counts, against the run without, the two measured interleaved in thirty-two parts.
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
  // The two loads are measured in thirty-two parts, in turns as the Thue–Morse sequence takes them
  // (without, with, with, without, with, without, without, with, then the same mirrored, and so on; both
  // warmed up first), so a drift of the shared machine during the runs weighs on both alike, even one
  // that speeds up or slows down unevenly (the halves of one sequence of four were 836, 821, 985 and
  // 1,336 req/s), and one slow part weighs a sixteenth of its side. With sixteen parts the ratio of ten
  // full runs spread from 0.897 to 0.959 (one part with the coupon at 963 req/s against 1,223–1,443 for
  // its other seven took that run below 0.9): the spread was as wide as the coupon's own cost, so the parts
  // were doubled rather than lengthened, since the drift is of seconds. The table grows by the same
  // orders under both. Each part starts from a vacuumed database and a clean checkpoint (`cleanStart`),
  // as the payment's parts do: the dead row versions and the WAL one part left would otherwise slow the
  // next part alone, whichever load it is.
  const part = sizes.duration / 4;
  if (sizes.warmup > 0) {
    await run(null, sizes.warmup);
    await run(base.couponCode, sizes.warmup);
  }
  // PostgreSQL's CPU (its backends and helpers) and the machine's busy cores in each side's parts: with
  // the API's own CPU, where an order's time on the machine goes.
  const machine = { with: { databaseMs: 0, busyMs: 0 }, without: { databaseMs: 0, busyMs: 0 } };
  const turns = await takeTurns(balancedPair('without', 'with', COUPON_PARTS), async (side, index) => {
    await cleanStart(ctx.pool);
    const from = nowMs();
    const before = machineCpu();
    const load = await run(side === 'with' ? base.couponCode : null, part);
    const spent = cpuBetween(before, machineCpu(), (_pid, comm) => (comm === 'postgres' ? 'postgres' : 'other'));
    machine[side].databaseMs += spent.groups.get('postgres') ?? 0;
    machine[side].busyMs += spent.busyMs;
    // With --profile, where each part lies in the API's CPU profile (bench/profile-top.ts --window).
    const window = profileWindowNote(from, nowMs());
    if (window) ctx.log(`part ${index + 1}, ${side} the coupon: ${load.rps.toFixed(0)} req/s${window}`);
    return load;
  });
  const sideParts = (side: 'with' | 'without') => turns.parts.filter((p) => p.side === side).map((p) => p.load.rps.toFixed(0)).join(', ');
  const plain = turns.of('without');
  const withCoupon = turns.of('with');
  const cpuLine = (side: 'with' | 'without', load: LoadResult) =>
    `CPU per order: API ${cpuPerAnswer(load).toFixed(2)} ms, PostgreSQL ${(machine[side].databaseMs / load.ok).toFixed(2)} ms; ${(machine[side].busyMs / (load.seconds * 1000)).toFixed(2)} cores busy`;
  ctx.log(`createOrder without coupon: ${plain.rps.toFixed(0)} req/s (${(plain.rps / carefulRps).toFixed(2)}x the careful ceiling; parts ${sideParts('without')} req/s), ${cpuLine('without', plain)}`);
  ctx.log(`createOrder with the popular coupon: ${withCoupon.rps.toFixed(0)} req/s (parts ${sideParts('with')} req/s), ${cpuLine('with', withCoupon)}`);
  const { rows } = await ctx.pool.query<{ used_count: number }>(
    `select coalesce(sum(u.used), 0)::int as used_count from coupon c join coupon_use u on u.coupon_id = c.id where c.code_key = $1`,
    [base.couponCode],
  );
  const plainVsCareful = `${(plain.rps / carefulRps).toFixed(2)}x the careful ceiling at c=${CONNECTIONS}, ${carefulRps.toFixed(0)} tps`;
  return [
    throughputResult(`createOrder, no coupon, c=${CONNECTIONS}`, plain, { rps: carefulRps }, carefulName(CONNECTIONS), 0.25, `${cpuLine('without', plain)}. ${careful.describe}`),
    throughputResult(
      `createOrder, one popular coupon, c=${CONNECTIONS}`,
      withCoupon,
      plain,
      `createOrder without coupon, c=${CONNECTIONS}; itself ${plainVsCareful}`,
      0.9,
      `Measured interleaved with the run without, in ${COUPON_PARTS} parts each from a vacuumed database and a clean checkpoint (${turns.line()}). ${cpuLine('with', withCoupon)}. Coupon used ${rows[0]?.used_count ?? '?'} times in the run (warm-up included). With the coupon: ${(withCoupon.rps / carefulRps).toFixed(2)}x the careful ceiling.`,
    ),
  ];
}
