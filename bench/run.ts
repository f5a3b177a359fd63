/**
 * `npm run bench`: builds the API for production, starts it (and the services it needs) as child
 * processes against a fresh `commerce_bench` database (BENCH_DATABASE names another), seeds data by
 * SQL, runs every scenario against a ceiling measured in the same run, and writes
 * bench/results/latest.{md,json} (BENCH_RESULTS_DIR writes elsewhere).
 *
 *   npm run bench                      full run (several minutes; run it on a quiet machine)
 *   npm run bench -- --smoke           tiny sizes, a second or two per scenario (checks the harness)
 *   npm run bench -- --only=plans,pay  some scenario groups: plans, adminorders, myorders, ceiling, orders, pay, fanout
 *                                      (a group measures the ceilings it compares to when they were not run)
 *   --keep-db  keep the database afterwards; --no-build  reuse dist/; --profile  CPU profiles of the servers
 *   --seconds=N  measured seconds per HTTP run; --subscribers=N  fan-out subscribers on one instance
 *   --fanout-rates=R1,R2  drive the fan-out at these rates instead of searching (diagnosis; its figures
 *                         then answer "what happens at R", not the goal's question)
 *
 * Needs PostgreSQL (DATABASE_URL's server, else 127.0.0.1:5432 as postgres) with pgbench, and Redis
 * (REDIS_URL, else 127.0.0.1:6379). When something cannot start it says so and exits non-zero.
 */
import 'reflect-metadata';
import Redis from 'ioredis';
import os from 'node:os';
import path from 'node:path';
import { startApi, type Server, apiEnv } from './lib/api';
import { buildAll } from './lib/build';
import { measureCareful, type CarefulCeiling } from './lib/careful';
import type { BenchContext } from './lib/context';
import { BENCH_DB, dropDatabase, recreateDatabase, redact, sqlPool } from './lib/database';
import { BenchSetupError, fileLimits, runOrThrow, stopAllChildren } from './lib/processes';
import { describeMachine, writeResults, type ScenarioResult } from './lib/report';
import { seedBase } from './lib/seed';
import { adminDatabaseUrl, parseOptions, redisUrl as defaultRedisUrl, ROOT } from './lib/settings';

/**
 * Scenario groups, in the order they run (myorders before any scenario that creates orders: it needs
 * an order table it alone filled). Each is loaded when it runs, so one whose feature is missing is
 * reported as not run without stopping the others.
 */
const GROUPS: Array<{ key: string; title: string; run: (ctx: BenchContext) => Promise<ScenarioResult[]> }> = [
  { key: 'plans', title: 'plans query vs Apollo hello', run: async (ctx) => (await import('./scenarios/plans.js')).plansScenarios(ctx) },
  { key: 'adminorders', title: 'admin orders by customer and by status in 1,000 vs 1,000,000 orders', run: async (ctx) => (await import('./scenarios/admin-orders.js')).adminOrdersScenario(ctx) },
  { key: 'myorders', title: 'myOrders vs Apollo hello, and in 1,000 vs 1,000,000 orders', run: async (ctx) => (await import('./scenarios/my-orders.js')).myOrdersScenario(ctx) },
  { key: 'ceiling', title: 'the careful wallet payment in plain SQL (pgbench), c=8 and c=32', run: async (ctx) => (await import('./scenarios/ceiling.js')).ceilingScenarios(ctx) },
  { key: 'orders', title: 'createOrder vs the careful ceiling; with one popular coupon vs without', run: async (ctx) => (await import('./scenarios/create-order.js')).createOrderScenarios(ctx) },
  { key: 'pay', title: 'payWithWallet vs the careful ceiling and vs pgbench of its own SQL', run: async (ctx) => (await import('./scenarios/pay.js')).payScenarios(ctx) },
  { key: 'fanout', title: 'orderUpdated fan-out, one instance and two through Redis', run: async (ctx) => (await import('./scenarios/fanout.js')).fanoutScenarios(ctx) },
];

const log = (m: string) => console.log(`[bench] ${m}`);

async function redisVersion(url: string): Promise<string> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, connectTimeout: 3_000 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const info = await redis.info('server');
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } catch (e) {
    throw new BenchSetupError(`Redis is not reachable at ${redact(url)}: ${(e as Error).message}. Start it or set REDIS_URL.`);
  } finally {
    redis.disconnect();
  }
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  const unknown = opts.only.filter((k) => !GROUPS.some((g) => g.key === k));
  if (unknown.length) throw new BenchSetupError(`unknown group(s) in --only: ${unknown.join(', ')}; the groups are ${GROUPS.map((g) => g.key).join(', ')}`);
  const startedAt = new Date();
  const adminUrl = adminDatabaseUrl();
  const redisUrl = defaultRedisUrl();
  const limits = fileLimits();
  log(`${opts.sizes.smoke ? 'SMOKE run' : 'full run'}; load average ${os.loadavg()[0].toFixed(2)}; open files soft ${limits.soft} hard ${limits.hard}`);

  const redisVer = await redisVersion(redisUrl);
  const databaseUrl = await recreateDatabase(adminUrl, BENCH_DB);
  log(`database ${redact(databaseUrl)}, Redis ${redact(redisUrl)} (${redisVer})`);

  const pool = sqlPool(databaseUrl, 4);
  let shared: Server | null = null;
  const results: ScenarioResult[] = [];
  const notRun: Array<{ group: string; reason: string }> = [];
  // Measured once when first asked for; its database stays for scenarios that run it again.
  let careful: Promise<CarefulCeiling> | null = null;
  try {
    if (!opts.noBuild) {
      log('building (npm run build)');
      buildAll();
    }
    runOrThrow(process.execPath, [path.join(ROOT, 'dist', 'scripts', 'migrate.js')], apiEnv({ databaseUrl, port: 0 }));
    const base = await seedBase(pool);
    const machine = await describeMachine(pool, redisVer);

    const ctx: BenchContext = {
      sizes: opts.sizes,
      adminUrl,
      databaseUrl,
      redisUrl,
      pool,
      base,
      log: (m) => log(`  ${m}`),
      async api() {
        shared ??= await startApi('api', { databaseUrl, redisUrl });
        return shared;
      },
      async stopApi() {
        await shared?.stop();
        shared = null;
      },
      careful() {
        careful ??= measureCareful(adminUrl, opts.sizes, (m) => log(`  ${m}`));
        return careful;
      },
    };

    for (const group of GROUPS) {
      if (opts.only.length && !opts.only.includes(group.key)) continue;
      log(`${group.key}: ${group.title}`);
      try {
        results.push(...(await group.run(ctx)));
      } catch (e) {
        if (e instanceof BenchSetupError) throw e;
        const reason = (e as Error).message.split('\n')[0];
        log(`  NOT RUN: ${reason}`);
        notRun.push({ group: group.key, reason });
      }
    }
    await ctx.stopApi();

    const written = writeResults(machine, results, notRun, { smoke: opts.sizes.smoke, startedAt, seconds: (Date.now() - startedAt.getTime()) / 1000 });
    log(`wrote ${path.relative(ROOT, written.md)} and ${path.relative(ROOT, written.json)}`);
    for (const r of results) log(`${r.met ? 'met   ' : 'MISSED'} ${r.name}: ${r.value.toFixed(1)} ${r.unit}, ratio ${r.ratio?.toFixed(2) ?? '-'} (goal ${r.goal})`);
    for (const n of notRun) log(`NOT RUN ${n.group}: ${n.reason}`);
    return notRun.length ? 1 : 0;
  } finally {
    await stopAllChildren();
    await pool.end();
    await (await (careful as Promise<CarefulCeiling> | null)?.catch(() => null))?.close();
    if (!opts.keepDb) await dropDatabase(adminUrl, BENCH_DB).catch(() => undefined);
  }
}

// The servers run in sessions of their own (see startServer), so a signal to the bench's process group
// does not reach them: the bench stops them itself.
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.on(signal, () => {
    void stopAllChildren().finally(() => process.exit(code));
  });
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`[bench] FAILED: ${e instanceof BenchSetupError ? e.message : (e as Error).stack}`);
    console.error('[bench] no results were written.');
    void stopAllChildren().finally(() => process.exit(1));
  },
);
