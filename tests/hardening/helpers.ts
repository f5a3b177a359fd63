import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { freePort } from '../../src/infra/free-port';
import { until } from '../support/until';

export { freePort };

/** A TCP port nobody listens on right now. */

/** One GraphQL answer as a client sees it, with how long it took. */
export interface Answer {
  status: number;
  ms: number;
  body: any;
  /** Set when no answer came (connection refused, reset, or the client's own time limit). */
  failure?: string;
}

/** POSTs one operation with a client-side time limit, never throwing. */
export async function post(url: string, query: string, opts: { token?: string; variables?: object; timeoutMs?: number } = {}): Promise<Answer> {
  const started = Date.now();
  try {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
      body: JSON.stringify({ query, variables: opts.variables }),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 20_000),
    });
    const text = await res.text();
    let body: any = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* keep the text */
    }
    return { status: res.status, ms: Date.now() - started, body };
  } catch (e) {
    return { status: 0, ms: Date.now() - started, body: null, failure: (e as Error).name === 'TimeoutError' ? 'timeout' : String((e as Error).cause ?? e) };
  }
}

/** A private PostgreSQL in a child process (tests/hardening/fixtures/pg-control.ts), stopped and started on demand. */
export interface PrivateDatabase {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and ends the child. */
  close(): Promise<void>;
}

/** Starts a private embedded PostgreSQL on `port` with its data under `dataDir`. */
export async function startPrivateDatabase(dataDir: string, port: number, database: string): Promise<PrivateDatabase> {
  const child = spawn(process.execPath, [require.resolve('tsx/cli'), path.join(__dirname, 'fixtures', 'pg-control.ts'), dataDir, String(port), database], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const rl = readline.createInterface({ input: child.stdout });
  const waiters: Array<(line: string) => void> = [];
  rl.on('line', (line) => waiters.shift()?.(line));
  const next = () =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('private database did not answer within 60 s')), 60_000);
      waiters.push((line) => {
        clearTimeout(timer);
        if (line.startsWith('error')) reject(new Error(line));
        else resolve(line);
      });
    });
  const first = await next();
  const url = first.replace(/^ready /, '');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url,
    async stop() {
      const done = next();
      child.stdin.write('stop\n');
      await done;
    },
    async start() {
      const done = next();
      child.stdin.write('start\n');
      await done;
    },
    async close() {
      child.stdin.end();
      await exited;
    },
  };
}

/** The real server (src/main.ts) run as a child process, as an operator runs it. */
export interface SpawnedServer {
  child: ChildProcess;
  url: string;
  port: number;
  /** Everything it printed (stdout and stderr), line by line. */
  output: string[];
  /** Resolves with the exit code (or the signal's name) when the process ends. */
  exited: Promise<number | string>;
}

/** Starts `node tsx src/main.ts` (or `script`) with `env` on a free port and waits until /readyz answers 200. */
export async function spawnServer(env: Record<string, string>, opts: { script?: string; port?: number; readyTimeoutMs?: number } = {}): Promise<SpawnedServer> {
  const port = opts.port ?? (await freePort());
  const root = path.join(__dirname, '..', '..');
  // `node --import tsx`, not the tsx CLI: the CLI runs the server in a second process, so a SIGKILL
  // would reach only the wrapper and leave the server running.
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, opts.script ?? 'src/main.ts')], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'test', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  for (const stream of [child.stdout, child.stderr]) readline.createInterface({ input: stream }).on('line', (l) => output.push(l));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const url = `http://127.0.0.1:${port}`;
  const ready = until('the spawned server to be ready', async () => (await fetch(`${url}/readyz`)).status === 200, opts.readyTimeoutMs ?? 60_000, 200);
  const died = exited.then((code) => {
    throw new Error(`server exited (${code}) during start`);
  });
  await Promise.race([ready, died]).catch((e) => {
    child.kill('SIGKILL');
    throw new Error(`${(e as Error).message}\n${output.slice(-30).join('\n')}`);
  });
  died.catch(() => undefined);
  return { child, url, port, output, exited };
}
