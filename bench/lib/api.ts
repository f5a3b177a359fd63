import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type Child, cpuMsOf, freePort, rssOf, startServer, waitReady } from './processes';
import { BENCH_JWT_SECRET, ROOT } from './settings';

/** A server process started by the bench. */
export interface Server {
  name: string;
  url: string;
  wsUrl: string;
  child: Child;
  rss(): number;
  /** CPU time used so far, ms. */
  cpuMs(): number;
  stop(): Promise<void>;
}

/**
 * Environment of a production API process for the bench. Stripe keys are dummies (no payment in the
 * bench reaches the gateway); per-caller rate limits are lifted because the load generator is one
 * caller pretending to be many; jobs are queued but not run (RUN_WORKER=false), as with a separate
 * worker deployment, so background deliveries do not steal the measured process's CPU.
 */
export function apiEnv(opts: { databaseUrl: string; port: number; redisUrl?: string; extra?: Record<string, string> }): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (/^(REDIS_URL|DATABASE_URL|JWT_|STRIPE_|SMTP_URL)/.test(k)) delete env[k];
  return {
    ...env,
    NODE_ENV: 'production',
    PORT: String(opts.port),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${opts.port}`,
    DATABASE_URL: opts.databaseUrl,
    ...(opts.redisUrl ? { REDIS_URL: opts.redisUrl } : {}),
    JWT_SECRET: BENCH_JWT_SECRET,
    STRIPE_SECRET_KEY: 'sk_test_bench_dummy',
    STRIPE_WEBHOOK_SECRET: 'whsec_bench_dummy',
    // Nothing in the bench calls the gateway; should anything try, it fails fast instead of reaching Stripe.
    STRIPE_API_URL: 'http://127.0.0.1:9',
    LOG_LEVEL: 'warn',
    RUN_WORKER: 'false',
    MUTATION_RATE_LIMIT: '1000000000',
    COUPON_PREVIEW_RATE_LIMIT: '1000000000',
    MAX_UNPAID_ORDERS: '1000',
    ...opts.extra,
  };
}

/** Where CPU profiles go when the bench runs with `--profile`. */
export const PROFILE_DIR = path.join(ROOT, 'bench', 'results', 'profiles');

/** Node flags of the servers: a CPU profile per process (written when it stops) with `--profile`. */
export const nodeFlags = (name: string): string[] => [
  ...(process.env.BENCH_PROFILE === '1' ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`] : []),
  // Extra flags for the servers when diagnosing, e.g. BENCH_NODE_FLAGS=--trace-gc (with BENCH_LOG_DIR to keep their output).
  ...(process.env.BENCH_NODE_FLAGS ? process.env.BENCH_NODE_FLAGS.split(/\s+/).filter(Boolean) : []),
];

/**
 * The Node flags `npm run start:prod` runs the API with (the Dockerfile's too; see the README's
 * "Operating it"), read from package.json so that the bench runs the API as production does.
 */
const API_NODE_FLAGS = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts['start:prod']
  .split(/\s+/)
  .filter((word) => word.startsWith('--'));

/** Starts the built API (`node dist/src/main.js`, with the production flags) and waits for /readyz. */
export async function startApi(name: string, opts: { databaseUrl: string; redisUrl?: string; extra?: Record<string, string> }): Promise<Server> {
  const port = await freePort();
  const child = startServer(name, process.execPath, [...API_NODE_FLAGS, ...nodeFlags(name), path.join(ROOT, 'dist', 'src', 'main.js')], apiEnv({ ...opts, port }));
  const url = `http://127.0.0.1:${port}`;
  await waitReady(child, `${url}/readyz`);
  return serverOf(name, url, child);
}

/** Starts the Apollo "hello" server (the HTTP ceiling) built to dist/bench/hello-server.js. */
export async function startHello(): Promise<Server> {
  const port = await freePort();
  const env = { ...process.env, NODE_ENV: 'production', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
  const child = startServer('hello', process.execPath, [...nodeFlags('hello'), path.join(ROOT, 'dist', 'bench', 'hello-server.js')], env);
  const url = `http://127.0.0.1:${port}`;
  await waitReady(child, `${url}/healthz`);
  return serverOf('hello', url, child);
}

function serverOf(name: string, url: string, child: Child): Server {
  return {
    name,
    url,
    wsUrl: `${url.replace('http', 'ws')}/graphql`,
    child,
    rss: () => rssOf(child.pid),
    cpuMs: () => cpuMsOf(child.pid),
    stop: () => child.stop(),
  };
}
