import { startHello } from '../lib/api';
import type { BenchContext } from '../lib/context';
import { httpLoad, type LoadResult } from '../lib/load';
import { throughputResult, type ScenarioResult } from '../lib/report';
import { tokens } from '../lib/tokens';

const PLANS_QUERY = JSON.stringify({
  query: `query Plans { plans { id name description price { amount currency } durationDays saleStatus stockRemaining upgrades { id name price { amount currency } } } }`,
});
const HELLO_QUERY = JSON.stringify({ query: '{ hello }' });
const CONNECTIONS = 32;
const CUSTOMERS = 1_000;

/**
 * `plans`, anonymous and with a token (1,000 customers' tokens in turn), at 32 connections, against an
 * Apollo "hello" server on the same stack and process settings at the same concurrency.
 */
export async function plansScenarios(ctx: BenchContext): Promise<ScenarioResult[]> {
  const { duration, warmup } = ctx.sizes;
  const hello = await startHello();
  let ceiling: LoadResult;
  try {
    ceiling = await httpLoad({
      url: hello.url,
      connections: CONNECTIONS,
      seconds: duration,
      warmupSeconds: warmup,
      next: () => ({ body: HELLO_QUERY }),
      verify: (b) => b.startsWith('{"data":{"hello":"world"}'),
    });
  } finally {
    await hello.stop();
  }
  ctx.log(`hello ceiling: ${ceiling.rps.toFixed(0)} req/s (p99 ${ceiling.p99} ms)`);

  const api = await ctx.api();
  // The first run on a fresh server warms up as long as it runs, so it does not pay for the JIT alone.
  const anonymous = await httpLoad({ url: api.url, connections: CONNECTIONS, seconds: duration, warmupSeconds: Math.max(warmup, duration), next: () => ({ body: PLANS_QUERY }) });
  ctx.log(`plans anonymous: ${anonymous.rps.toFixed(0)} req/s`);

  const auth = (await tokens(Array.from({ length: CUSTOMERS }, (_, i) => `plans-${i}`))).map((t) => `Bearer ${t}`);
  let i = 0;
  const withToken = await httpLoad({
    url: api.url,
    connections: CONNECTIONS,
    seconds: duration,
    warmupSeconds: warmup,
    next: () => ({ body: PLANS_QUERY, headers: { authorization: auth[i++ % auth.length] } }),
  });
  ctx.log(`plans with token: ${withToken.rps.toFixed(0)} req/s`);

  return [anonymous, withToken].map((r, k) => throughputResult(k === 0 ? 'plans, anonymous, c=32' : 'plans, with a token (1,000 customers), c=32', r, ceiling, 'Apollo hello, same stack, c=32', 0.6));
}
