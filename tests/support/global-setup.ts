import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { startEmbeddedDatabase } from '../../src/infra/embedded-db';
import { dbUrl, type TestEnv } from './env';

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 1_000 });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
    s.once('timeout', () => (s.destroy(), resolve(false)));
  });
}

/**
 * Finds PostgreSQL (DATABASE_URL, else 127.0.0.1:5432, else an embedded server) and Redis
 * (REDIS_URL, else 127.0.0.1:6379), and builds a migrated template database that every test file copies.
 */
export default async function globalSetup(): Promise<void> {
  let adminUrl: string;
  let embedded = false;
  if (process.env.DATABASE_URL) {
    adminUrl = dbUrl(process.env.DATABASE_URL, 'postgres');
  } else if (await reachable('127.0.0.1', 5432)) {
    adminUrl = 'postgres://postgres@127.0.0.1:5432/postgres';
  } else {
    console.warn('\n[tests] no PostgreSQL on 127.0.0.1:5432 and DATABASE_URL unset: starting an embedded PostgreSQL\n');
    const db = await startEmbeddedDatabase(path.join(os.tmpdir(), `commerce-test-pg-${process.pid}`), 'postgres');
    (globalThis as { __embeddedDb?: typeof db }).__embeddedDb = db;
    adminUrl = db.url;
    embedded = true;
  }

  let redisUrl: string | null = process.env.REDIS_URL ?? null;
  if (!redisUrl) redisUrl = (await reachable('127.0.0.1', 6379)) ? 'redis://127.0.0.1:6379' : null;
  if (!redisUrl) {
    if (process.env.CI) throw new Error('[tests] CI must run the Redis tests, but no Redis is reachable (REDIS_URL or 127.0.0.1:6379)');
    console.warn(`\n${'!'.repeat(78)}\n!! NO REDIS REACHABLE (REDIS_URL or 127.0.0.1:6379): THE REDIS TESTS ARE SKIPPED !!\n${'!'.repeat(78)}\n`);
  }

  const templateDb = `commerce_test_tpl_${process.pid}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${templateDb}`);
  await admin.query(`create database ${templateDb}`);
  await admin.end();
  const url = dbUrl(adminUrl, templateDb);
  // Migrate in a child process: MikroORM's metadata must not be built in Jest's parent realm (mikro-orm#3783).
  execFileSync(process.execPath, [require.resolve('tsx/cli'), path.join(__dirname, '..', '..', 'scripts', 'migrate.ts')], {
    env: { ...process.env, DATABASE_URL: url, NODE_ENV: 'test' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });

  const env: TestEnv = { adminUrl, templateDb, redisUrl, embedded };
  const file = path.join(os.tmpdir(), `commerce-test-env-${process.pid}.json`);
  writeFileSync(file, JSON.stringify(env));
  process.env.COMMERCE_TEST_ENV_FILE = file;
}
