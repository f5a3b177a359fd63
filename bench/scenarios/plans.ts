import type { BenchContext } from '../lib/context';
import { HELLO_NAME, helloLoad, withHello } from '../lib/hello';
import { cpuPerAnswer, httpLoad } from '../lib/load';
import { throughputResult, type ScenarioResult } from '../lib/report';
import { tokens } from '../lib/tokens';
import { mirroredRounds, takeTurns } from '../lib/turns';

const PLANS_QUERY = JSON.stringify({
  query: `query Plans { plans { id name description price { amount currency } durationDays saleStatus stockRemaining upgrades { id name price { amount currency } } } }`,
});
const CONNECTIONS = 32;
const CUSTOMERS = 1_000;

/**
 * `plans`, anonymous and with a token (1,000 customers' tokens in turn), at 32 connections, against an
 * Apollo "hello" server on the same stack and process settings at the same concurrency. Goals: 0.6x
 * anonymous, 0.8x with a token (a token's check must cost little next to the answer). The three loads
 * are measured in quarters, in turns (hello, anonymous, token, token, anonymous, hello, then the other
 * way round; see {@link mirroredRounds}), each warmed up first, so that each ratio's two sides are
 * measured in the same minutes. With hello measured once, before both, a slow minute of the machine
 * fell on one side alone (0.77 with a token in one full run, 1.14 in the plans group alone just after).
 */
export async function plansScenarios(ctx: BenchContext): Promise<ScenarioResult[]> {
  const { duration, warmup } = ctx.sizes;
  const api = await ctx.api();
  const auth = (await tokens(Array.from({ length: CUSTOMERS }, (_, i) => `plans-${i}`))).map((t) => `Bearer ${t}`);
  let i = 0;
  const cpuOf = () => api.cpuMs();
  const plans = (withToken: boolean) => (seconds: number, warmupSeconds: number) =>
    httpLoad({
      url: api.url,
      connections: CONNECTIONS,
      seconds,
      warmupSeconds,
      next: withToken ? () => ({ body: PLANS_QUERY, headers: { authorization: auth[i++ % auth.length] } }) : () => ({ body: PLANS_QUERY }),
      cpuOf,
    });
  const turns = await withHello(async (hello) => {
    const loads = { hello: (seconds: number, warmupSeconds: number) => helloLoad(hello, seconds, warmupSeconds), anonymous: plans(false), token: plans(true) };
    // Warm-ups before any part, the API's first as long as a run: it must not pay for the JIT alone.
    await loads.hello(warmup, 0);
    await loads.anonymous(Math.max(warmup, duration), 0);
    await loads.token(warmup, 0);
    const rounds = [
      ['hello', 'anonymous', 'token'],
      ['token', 'anonymous', 'hello'],
    ] as const;
    return takeTurns(mirroredRounds(rounds), (side) => loads[side](duration / 4, 0));
  });
  const ceiling = turns.of('hello');
  const anonymous = turns.of('anonymous');
  const withToken = turns.of('token');
  ctx.log(`plans: anonymous ${anonymous.rps.toFixed(0)} req/s, with a token ${withToken.rps.toFixed(0)}, hello ${ceiling.rps.toFixed(0)} (turns: ${turns.line()})`);
  const note = `Measured in quarters interleaved with hello (${turns.line()}).`;
  return [
    throughputResult('plans, anonymous, c=32', anonymous, ceiling, `${HELLO_NAME}, in this scenario's turns`, 0.6, `${note} API process CPU per answer: ${cpuPerAnswer(anonymous).toFixed(3)} ms.`),
    throughputResult('plans, with a token (1,000 customers), c=32', withToken, ceiling, `${HELLO_NAME}, in this scenario's turns`, 0.8, `${note} API process CPU per answer: ${cpuPerAnswer(withToken).toFixed(3)} ms.`),
  ];
}
