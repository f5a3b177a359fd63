import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** What global setup found, shared with every test file through a file. */
export interface TestEnv {
  /** Admin URL of the server (database `postgres`). */
  adminUrl: string;
  /** Database holding every migration, copied for each test file. */
  templateDb: string;
  /** Redis URL, or null when none is reachable (Redis tests are skipped, loudly). */
  redisUrl: string | null;
  embedded: boolean;
}

export const ENV_FILE = path.join(os.tmpdir(), `commerce-test-env-${process.ppid}-${process.env.JEST_RUN_ID ?? 'run'}.json`);

export function readTestEnv(): TestEnv {
  const file = process.env.COMMERCE_TEST_ENV_FILE ?? ENV_FILE;
  return JSON.parse(readFileSync(file, 'utf8')) as TestEnv;
}

/** A database URL on the same server as `adminUrl`. */
export function dbUrl(adminUrl: string, db: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${db}`;
  return u.toString();
}
