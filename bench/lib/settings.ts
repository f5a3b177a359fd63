import os from 'node:os';
import path from 'node:path';

/** Root of the repository. */
export const ROOT = path.resolve(__dirname, '..', '..');
/** Where results are written (BENCH_RESULTS_DIR for a run whose figures must not replace latest.*). */
export const RESULTS_DIR = process.env.BENCH_RESULTS_DIR ? path.resolve(process.env.BENCH_RESULTS_DIR) : path.join(ROOT, 'bench', 'results');

/** HS256 secret shared by the bench's servers and the tokens it signs. */
export const BENCH_JWT_SECRET = 'bench-secret-0123456789-abcdefghijkl';

/** How long and how big each scenario runs. `--smoke` keeps everything to a second or two. */
export interface Sizes {
  smoke: boolean;
  /** Seconds of measured load per HTTP run. */
  duration: number;
  /** Seconds of unmeasured load before each HTTP run. */
  warmup: number;
  /** Live fan-out: subscribers on one instance, and the order change rate asked for. */
  fanoutSubscribers: number;
  fanoutRate: number;
  /** Seconds of order changes during a fan-out run. */
  fanoutSeconds: number;
  /** Fan-out rates to drive one instance at instead of searching for the highest that meets the goal (diagnosis). */
  fanoutRates?: number[];
  /** myOrders: rows of the big table. */
  bigOrders: number;
}

export function sizesFor(smoke: boolean): Sizes {
  return smoke
    ? { smoke, duration: 1.5, warmup: 0.5, fanoutSubscribers: 400, fanoutRate: 200, fanoutSeconds: 1.5, bigOrders: 50_000 }
    : { smoke, duration: 10, warmup: 3, fanoutSubscribers: 10_000, fanoutRate: 1_000, fanoutSeconds: 8, bigOrders: 1_000_000 };
}

/**
 * Seconds of a measured pgbench run: the HTTP runs' seconds (pgbench's -T counts its clients'
 * connecting too, so a smoke run gets a few seconds more to process anything on a loaded machine).
 */
export const sqlSeconds = (sizes: Sizes): number => Math.max(sizes.duration, sizes.smoke ? 4 : 1);

/** Command-line options of `npm run bench`. */
export interface Options {
  sizes: Sizes;
  /** Scenario groups to run (all when empty). */
  only: string[];
  /** Keep the bench database afterwards (for inspection). */
  keepDb: boolean;
  /** Skip `npm run build` (dist/ is already fresh). */
  noBuild: boolean;
}

export function parseOptions(argv: string[]): Options {
  const smoke = argv.includes('--smoke');
  if (argv.includes('--profile')) process.env.BENCH_PROFILE = '1';
  const onlyArg = argv.find((a) => a.startsWith('--only='));
  const sizes = sizesFor(smoke);
  const seconds = argv.find((a) => a.startsWith('--seconds='));
  if (seconds) sizes.duration = Number(seconds.slice('--seconds='.length));
  const subscribers = argv.find((a) => a.startsWith('--subscribers='));
  if (subscribers) sizes.fanoutSubscribers = Number(subscribers.slice('--subscribers='.length));
  const rates = argv.find((a) => a.startsWith('--fanout-rates='));
  if (rates) sizes.fanoutRates = rates.slice('--fanout-rates='.length).split(',').map(Number).filter((r) => r > 0);
  return {
    sizes,
    only: onlyArg ? onlyArg.slice('--only='.length).split(',').filter(Boolean) : [],
    keepDb: argv.includes('--keep-db'),
    noBuild: argv.includes('--no-build'),
  };
}

/** PostgreSQL server to use: DATABASE_URL's server, else 127.0.0.1:5432 as postgres. */
export function adminDatabaseUrl(): string {
  const given = process.env.DATABASE_URL;
  const u = new URL(given ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  u.pathname = '/postgres';
  return u.toString();
}

/** A database URL on the same server as `adminUrl`. */
export function databaseUrl(adminUrl: string, db: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${db}`;
  return u.toString();
}

export function redisUrl(): string {
  return process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
}

export const cpuCount = (): number => os.cpus().length;
