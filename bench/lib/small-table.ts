import path from 'node:path';
import type { Pool } from 'pg';
import { apiEnv, startApi, type Server } from './api';
import type { BenchContext } from './context';
import { BENCH_DB, dropDatabase, recreateDatabase, sqlPool } from './database';
import { combineLoads, type LoadResult } from './load';
import { runOrThrow } from './processes';
import { seedBase, type BaseSeed } from './seed';
import { ROOT } from './settings';

/** The small table's own database and the API instance that reads it. */
export interface SmallTable {
  api: Server;
  pool: Pool;
}

/**
 * Runs `use` with a second database beside the bench's (migrated, with the same base seed, then the
 * rows `seed` adds) and an API instance of its own on it, both removed afterwards whatever happens.
 *
 * A read on a small table and the same read on the bench's grown table are then measured in turns
 * (small, big, big, small), in the same minutes: measured before and after the growth, a minute apart,
 * the comparison was the machine's drift as much as the table's size (on this kind of machine the same
 * pages cost the API 0.41 ms of CPU each before and 0.57 ms after, with the work in its profile alike).
 */
export async function withSmallTable<T>(ctx: BenchContext, seed: (pool: Pool, base: BaseSeed) => Promise<void>, use: (small: SmallTable) => Promise<T>): Promise<T> {
  const name = `${BENCH_DB}_small`;
  const databaseUrl = await recreateDatabase(ctx.adminUrl, name);
  const pool = sqlPool(databaseUrl, 2);
  let api: Server | undefined;
  try {
    runOrThrow(process.execPath, [path.join(ROOT, 'dist', 'scripts', 'migrate.js')], apiEnv({ databaseUrl, port: 0 }));
    await seed(pool, await seedBase(pool));
    await pool.query('vacuum analyze');
    api = await startApi('api-small', { databaseUrl, redisUrl: ctx.redisUrl });
    return await use({ api, pool });
  } finally {
    await api?.stop();
    await pool.end();
    await dropDatabase(ctx.adminUrl, name);
  }
}

/** What {@link inTurns} measured: each side's halves combined, and the turns' rates in a line. */
export interface InTurns {
  small: LoadResult;
  big: LoadResult;
  /** The optional ceiling's halves combined, when one was given. */
  ceiling?: LoadResult;
  halves: string;
}

/**
 * One load on the small table's instance and on the big table's, in halves of `seconds` taken in turns
 * (small, big, big, small), each side warmed up first for `warmupSeconds`. An optional ceiling (a load
 * of its own, already warm) takes the turns next to the big table's (small, ceiling, big, big, ceiling,
 * small), so that it too is measured in the big table's minutes.
 */
export async function inTurns(
  sides: { small: Server; big: Server },
  seconds: number,
  warmupSeconds: number,
  load: (server: Server, seconds: number) => Promise<LoadResult>,
  ceiling?: { name: string; load: (seconds: number) => Promise<LoadResult> },
): Promise<InTurns> {
  await load(sides.small, warmupSeconds);
  await load(sides.big, warmupSeconds);
  const half = seconds / 2;
  const s1 = await load(sides.small, half);
  const c1 = await ceiling?.load(half);
  const b1 = await load(sides.big, half);
  const b2 = await load(sides.big, half);
  const c2 = await ceiling?.load(half);
  const s2 = await load(sides.small, half);
  const rps = (r: LoadResult) => r.rps.toFixed(0);
  const turns = [`small ${rps(s1)}`, ...(c1 ? [`${ceiling!.name} ${rps(c1)}`] : []), `big ${rps(b1)}`, `big ${rps(b2)}`, ...(c2 ? [`${ceiling!.name} ${rps(c2)}`] : []), `small ${rps(s2)}`];
  return {
    small: combineLoads([s1, s2]),
    big: combineLoads([b1, b2]),
    ...(c1 && c2 ? { ceiling: combineLoads([c1, c2]) } : {}),
    halves: `${turns.join(', ')} req/s`,
  };
}
