import path from 'node:path';
import type { Pool } from 'pg';
import { apiEnv, startApi, type Server } from './api';
import type { BenchContext } from './context';
import { BENCH_DB, dropDatabase, recreateDatabase, sqlPool } from './database';
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
