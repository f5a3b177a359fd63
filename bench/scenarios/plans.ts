import type { BenchContext } from '../lib/context';
import { HELLO_NAME } from '../lib/hello';
import { cpuPerAnswer, httpLoad } from '../lib/load';
import { throughputResult, type ScenarioResult } from '../lib/report';
import { tokens } from '../lib/tokens';

const PLANS_QUERY = JSON.stringify({
  query: `query Plans { plans { id name description price { amount currency } durationDays saleStatus stockRemaining upgrades { id name price { amount currency } } } }`,
});
const CONNECTIONS = 32;
const CUSTOMERS = 1_000;

/**
 * `plans`, anonymous and with a token (1,000 customers' tokens in turn), at 32 connections, against an
 * Apollo "hello" server on the same stack and process settings at the same concurrency. Goals: 0.6x
 * anonymous, 0.8x with a token (a token's check must cost little next to the answer).
 */
export async function plansScenarios(ctx: BenchContext): Promise<ScenarioResult[]> {
  const { duration, warmup } = ctx.sizes;
  const ceiling = await ctx.hello();

  const api = await ctx.api();
  // The first run on a fresh server warms up as long as it runs, so it does not pay for the JIT alone.
  const cpuOf = () => api.cpuMs();
  const anonymous = await httpLoad({ url: api.url, connections: CONNECTIONS, seconds: duration, warmupSeconds: Math.max(warmup, duration), next: () => ({ body: PLANS_QUERY }), cpuOf });
  ctx.log(`plans anonymous: ${anonymous.rps.toFixed(0)} req/s`);

  const auth = (await tokens(Array.from({ length: CUSTOMERS }, (_, i) => `plans-${i}`))).map((t) => `Bearer ${t}`);
  let i = 0;
  const withToken = await httpLoad({
    url: api.url,
    connections: CONNECTIONS,
    seconds: duration,
    warmupSeconds: warmup,
    next: () => ({ body: PLANS_QUERY, headers: { authorization: auth[i++ % auth.length] } }),
    cpuOf,
  });
  ctx.log(`plans with token: ${withToken.rps.toFixed(0)} req/s`);

  return [
    throughputResult('plans, anonymous, c=32', anonymous, ceiling, HELLO_NAME, 0.6, `API process CPU per answer: ${cpuPerAnswer(anonymous).toFixed(3)} ms.`),
    throughputResult('plans, with a token (1,000 customers), c=32', withToken, ceiling, HELLO_NAME, 0.8, `API process CPU per answer: ${cpuPerAnswer(withToken).toFixed(3)} ms.`),
  ];
}
