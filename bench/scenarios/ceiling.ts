import { CAREFUL_LEVELS, carefulName } from '../lib/careful';
import type { BenchContext } from '../lib/context';
import type { ScenarioResult } from '../lib/report';

/**
 * The careful ceiling on its own lines: what PostgreSQL on this machine pays per second for a careful
 * wallet payment in plain SQL, at the concurrency levels the payment and order scenarios compare at.
 * Runs before them, so they compare to a figure measured moments earlier in the same run.
 */
export async function ceilingScenarios(ctx: BenchContext): Promise<ScenarioResult[]> {
  const careful = await ctx.careful();
  return CAREFUL_LEVELS.map((c) => {
    const r = careful.byClients.get(c)!;
    return {
      name: carefulName(c),
      value: r.tps,
      unit: 'tps',
      ceiling: null,
      ceilingName: 'none: the careful ceiling itself',
      ratio: null,
      goal: 'reference',
      met: r.failed === 0,
      throughput: r.tps,
      p50Ms: r.p50,
      p99Ms: r.p99,
      notes: `${careful.describe} pgbench: ${r.summary}.`,
    } satisfies ScenarioResult;
  });
}
