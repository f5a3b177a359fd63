import { existsSync } from 'node:fs';
import path from 'node:path';
import { BENCH_DB, dropDatabase, recreateDatabase } from './database';
import { pgbench, psqlFile, type PgbenchResult } from './pgbench';
import { BenchSetupError } from './processes';
import { ROOT, sqlSeconds, type Sizes } from './settings';

/** Where the shared careful ceiling lives: ../shared/ceilings/wallet-payment next to the repository. */
export const CAREFUL_DIR = path.resolve(ROOT, '..', 'shared', 'ceilings', 'wallet-payment');
const FILES = ['setup.sql', 'reset.sql', 'wallet.sql'] as const;
/** Its own database, dropped once measured. */
const CAREFUL_DB = `${BENCH_DB}_careful`;
/** Concurrency levels the payment scenarios compare at. */
export const CAREFUL_LEVELS = [8, 32] as const;

/** The careful wallet payment measured by pgbench in this run, per client count. */
export interface CarefulCeiling {
  byClients: Map<number, PgbenchResult>;
  /** Seeded sizes (orders paid at most once per run; customers). */
  orders: number;
  customers: number;
  /** One line for notes: what was run and how. */
  describe: string;
  /**
   * Runs the careful payment again, reset first, at `clients` for `seconds`: a scenario measures it in
   * parts around its own load, so a machine that speeds up or slows down meanwhile weighs on both alike.
   */
  run(clients: number, seconds: number): Promise<PgbenchResult>;
  /** Drops its database. */
  close(): Promise<void>;
}

/** The careful ceiling's name as the results show it. */
export const carefulName = (clients: number): string => `careful wallet payment, plain SQL, pgbench -M prepared, c=${clients}`;

/**
 * Measures the careful wallet payment (../shared/ceilings/wallet-payment: setup.sql, reset.sql,
 * wallet.sql) as its README runs it: in its own database, pgbench -M prepared, reset before every
 * run, at c=8 and c=32 for the same seconds as the API's runs (after a warm-up as long as theirs).
 * Its orders are sized so that no run pays the same order twice (pgbench's permute wraps around).
 * Its database stays until {@link CarefulCeiling.close}, for scenarios that run it again.
 */
export async function measureCareful(adminUrl: string, sizes: Sizes, log: (m: string) => void): Promise<CarefulCeiling> {
  const missing = FILES.filter((f) => !existsSync(path.join(CAREFUL_DIR, f)));
  if (missing.length) {
    throw new BenchSetupError(
      `the careful ceiling is missing: ${missing.join(', ')} not found in ${CAREFUL_DIR} (the shared ceilings directory must sit next to the repository, at ../shared/ceilings/wallet-payment)`,
    );
  }
  const seconds = sqlSeconds(sizes);
  const longest = Math.max(1, Math.round(seconds), Math.round(sizes.warmup));
  // Well above what PostgreSQL pays per second on a small machine (about 2,000), so no run wraps.
  const orders = Math.max(sizes.smoke ? 50_000 : 300_000, 8_000 * longest);
  const customers = sizes.smoke ? 10_000 : 50_000;
  const url = await recreateDatabase(adminUrl, CAREFUL_DB);
  try {
    const started = Date.now();
    psqlFile(url, path.join(CAREFUL_DIR, 'setup.sql'), { norders: orders, ncustomers: customers });
    log(`careful ceiling: seeded ${orders} orders, ${customers} customers in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const run = async (clients: number, seconds: number) => {
      psqlFile(url, path.join(CAREFUL_DIR, 'reset.sql'));
      const r = await pgbench(url, path.join(CAREFUL_DIR, 'wallet.sql'), clients, seconds, { norders: orders, ncustomers: customers, nclients: clients, n: 0 });
      if (r.failed > 0 || r.tps <= 0) throw new Error(`the careful ceiling had ${r.failed} failed transactions and ${r.tps} tps at c=${clients}: ${r.summary}`);
      return r;
    };
    const byClients = new Map<number, PgbenchResult>();
    for (const clients of CAREFUL_LEVELS) {
      if (sizes.warmup > 0) await run(clients, sizes.warmup);
      const r = await run(clients, seconds);
      log(`careful wallet payment c=${clients}: ${r.tps.toFixed(0)} tps, p99 ${r.p99.toFixed(1)} ms`);
      byClients.set(clients, r);
    }
    return {
      run,
      close: () => dropDatabase(adminUrl, CAREFUL_DB).catch(() => undefined),
      byClients,
      orders,
      customers,
      describe:
        `Careful ceiling: ../shared/ceilings/wallet-payment (guarded order update, guarded balance debit, two ledger rows, one outbox row; no hot row, no NOTIFY), ` +
        `pgbench -M prepared in its own database with ${orders} orders of ${customers} customers, reset before each run, ` +
        CAREFUL_LEVELS.map((c) => `c=${c} ${byClients.get(c)!.tps.toFixed(0)} tps`).join(', ') +
        ` (${Math.round(seconds)} s each).`,
    };
  } catch (e) {
    await dropDatabase(adminUrl, CAREFUL_DB).catch(() => undefined);
    throw e;
  }
}

/** The careful ceiling's rate at `clients`. */
export function carefulTps(c: CarefulCeiling, clients: number): number {
  const r = c.byClients.get(clients);
  if (!r) throw new Error(`the careful ceiling was not measured at c=${clients}`);
  return r.tps;
}
