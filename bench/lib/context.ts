import type { Pool } from 'pg';
import type { Server } from './api';
import type { CarefulCeiling } from './careful';
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
  /**
   * The careful wallet payment (../shared/ceilings/wallet-payment) at c=8 and c=32, measured once per
   * run: by the `ceiling` group when it runs, else by the first scenario that compares to it. Its
   * database stays to the end of the run, for scenarios that measure it again around their own load.
   */
  careful(): Promise<CarefulCeiling>;
  log(message: string): void;
}
