import { Client, Pool } from 'pg';
import { BenchSetupError } from './processes';
import { databaseUrl } from './settings';

/**
 * The bench's own database, created fresh for a run and dropped after it; BENCH_DATABASE names another
 * (two runs on one server must not share it). Its helpers' databases take it as a prefix.
 */
export const BENCH_DB = process.env.BENCH_DATABASE ?? 'commerce_bench';

/** Drops and creates `name` on the server of `adminUrl`; fails loudly when the server is unreachable. */
export async function recreateDatabase(adminUrl: string, name: string): Promise<string> {
  const admin = new Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
  try {
    await admin.connect();
  } catch (e) {
    throw new BenchSetupError(`PostgreSQL is not reachable at ${redact(adminUrl)}: ${(e as Error).message}. Start it or set DATABASE_URL.`);
  }
  try {
    await admin.query(`drop database if exists "${name}" with (force)`);
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  return databaseUrl(adminUrl, name);
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = new Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
  await admin.connect();
  try {
    await admin.query(`drop database if exists "${name}" with (force)`);
  } finally {
    await admin.end();
  }
}

/** A small pool for seeding and checks. */
export function sqlPool(url: string, max = 4): Pool {
  return new Pool({ connectionString: url, max });
}

/** Single value of a query. */
export async function scalar<T = unknown>(pool: Pool, text: string, params: unknown[] = []): Promise<T> {
  const { rows } = await pool.query<Record<string, unknown>>(text, params);
  return Object.values(rows[0] ?? {})[0] as T;
}

/**
 * A clean PostgreSQL checkpoint, for a measured run to start from: the WAL and dirty pages that earlier
 * work left (a million seeded orders, other scenarios' writes) would otherwise be flushed and synced by a
 * checkpoint during whichever run came next, holding its commits and reads up (for as long as a quarter
 * of a second on this kind of disk).
 */
export async function cleanCheckpoint(pool: Pool): Promise<void> {
  await pool.query('checkpoint');
}

/**
 * What a measured part of a write scenario starts from, as the careful ceiling's reset gives each of its
 * runs (VACUUM, then CHECKPOINT): the dead row versions the parts before it left vacuumed away, then
 * {@link cleanCheckpoint}. PostgreSQL on CI's machines runs without autovacuum, so rows that every write
 * updates (a customer's unpaid orders, wallets, and most of all the popular coupon's 16 use stripes, one
 * page updated by every order of it) otherwise carry the versions of every earlier part into the next.
 * In runs of the order scenario alone the coupon's ratio to the orders without one was 0.85 and 0.88
 * without it, 0.92 and 0.97 with it. A server with autovacuum does this in the background. No ANALYZE:
 * the statistics the seeding left stay, so no plan changes in the middle of a scenario.
 */
export async function cleanStart(pool: Pool): Promise<void> {
  await pool.query('vacuum');
  await cleanCheckpoint(pool);
}

export const redact = (url: string): string => url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
