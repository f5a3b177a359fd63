import type { Pool } from 'pg';
import type { Server } from './api';
import type { BaseSeed } from './seed';
import type { Sizes } from './settings';

/** What every scenario gets from the runner. */
export interface BenchContext {
  sizes: Sizes;
  /** Admin URL (database `postgres`) and the bench database's URL. */
  adminUrl: string;
  databaseUrl: string;
  redisUrl: string;
  pool: Pool;
  base: BaseSeed;
  /** The API instance the HTTP scenarios share (REDIS_URL set, as in a multi-instance deployment). */
  api(): Promise<Server>;
  /** Stops the shared API instance (before scenarios that start their own). */
  stopApi(): Promise<void>;
  log(message: string): void;
}
