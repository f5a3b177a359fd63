import { print } from 'graphql';
import { createClient } from 'graphql-ws';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { freePort } from '../../src/infra/free-port';
import { CreatePlanDocument, PlanNamesDocument } from '../__generated__/graphql';
import { createTestDatabase, TEST_SECRET, token } from '../support/server';
import { until } from '../support/until';

const ROOT = path.resolve(__dirname, '..', '..');


/** `npm start` as a child process (`node --import tsx src/main.ts`), with exactly `env` besides PATH and HOME. */
class ApiProcess {
  readonly child: ChildProcess;
  output = '';
  readonly exited: Promise<number | null>;
  constructor(
    readonly port: number,
    env: Record<string, string>,
  ) {
    this.child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'test', JWT_SECRET: TEST_SECRET, PORT: String(port), HOST: '127.0.0.1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, as a terminal gives a command it runs: a group signal reaches all of it.
      detached: true,
    });
    this.child.stdout!.on('data', (d) => (this.output += d));
    this.child.stderr!.on('data', (d) => (this.output += d));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Waits until /healthz answers 200; returns the milliseconds it took from `since`. */
  async ready(timeoutMs: number, since: number): Promise<number> {
    let exited = false;
    void this.exited.then(() => (exited = true));
    const outcome = await until('the server to answer /healthz, or to exit', async () => (exited ? 'exited' : (await fetch(`${this.url}/healthz`)).status === 200 && 'up'), timeoutMs).catch(
      (e: Error) => e.message,
    );
    if (outcome !== 'up') throw new Error(`server not ready (${outcome}):\n${this.output}`);
    return Date.now() - since;
  }

  /** Sends SIGTERM and resolves with the exit code, or null if it did not exit within `timeoutMs` (then kills it). */
  async terminate(timeoutMs = 20_000): Promise<number | null> {
    this.child.kill('SIGTERM');
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs).unref());
    const result = await Promise.race([this.exited, timer]);
    if (result === 'timeout') {
      this.kill();
      return null;
    }
    return result;
  }

  /** Sends `signal` to the whole process group, as a terminal does on Ctrl-C; resolves with the exit code, or null after `timeoutMs`. */
  async signalGroup(signal: NodeJS.Signals, timeoutMs = 30_000): Promise<number | null> {
    process.kill(-this.child.pid!, signal);
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs).unref());
    const result = await Promise.race([this.exited, timer]);
    return result === 'timeout' ? null : result;
  }

  /** SIGKILL to the process group. */
  kill(): void {
    try {
      process.kill(-this.child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  async gql<T>(doc: Parameters<typeof print>[0], variables: Record<string, unknown> = {}, auth?: string): Promise<{ data?: T; errors?: unknown[] }> {
    const res = await fetch(`${this.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
      body: JSON.stringify({ query: print(doc), variables }),
    });
    return (await res.json()) as { data?: T; errors?: unknown[] };
  }
}

/** SIGTERM, then exit code 0 within 10 s; the process output is shown when it is not. */
async function expectCleanStop(p: ApiProcess) {
  const code = await p.terminate(20_000);
  expect({ code, output: code === 0 ? '' : p.output }).toEqual({ code: 0, output: '' });
}

const running: ApiProcess[] = [];
afterEach(() => {
  for (const p of running.splice(0)) p.kill();
});
const start = async (env: Record<string, string>) => {
  const p = new ApiProcess(await freePort(), env);
  running.push(p);
  return p;
};

test('SIGTERM stops the server cleanly (exit 0, sockets closed with 1001), and a second start reuses the database', async () => {
  const databaseUrl = await createTestDatabase();
  const first = await start({ DATABASE_URL: databaseUrl });
  await first.ready(60_000, Date.now());
  const admin = await token('admin-process', 'admin');
  const created = await first.gql<{ createPlan: { id: string } }>(CreatePlanDocument, { input: { name: 'Survives restarts', price: 700 } }, admin);
  expect(created.errors).toBeUndefined();

  // An open graphql-ws socket is told the server is going away.
  let connected = false;
  const closed = new Promise<number>((resolve) => {
    createClient({
      url: `ws://127.0.0.1:${first.port}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${admin}` },
      lazy: false,
      retryAttempts: 0,
      onNonLazyError: () => undefined,
      on: { connected: () => (connected = true), closed: (e) => resolve((e as { code: number }).code) },
    });
  });
  await until('the socket to be acknowledged', () => connected);

  await expectCleanStop(first);
  expect(await closed).toBe(1001);

  const second = await start({ DATABASE_URL: databaseUrl });
  await second.ready(60_000, Date.now());
  const listed = await second.gql<{ plans: Array<{ name: string }> }>(PlanNamesDocument);
  expect(listed.errors).toBeUndefined();
  expect(listed.data?.plans.map((p) => p.name)).toEqual(['Survives restarts']);
  await expectCleanStop(second);
});

test('without DATABASE_URL an embedded PostgreSQL under DATA_DIR is created, then reused', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'commerce-data-'));
  // The embedded server runs as the `postgres` user when tests run as root: it must reach the folder.
  chmodSync(dataDir, 0o755);
  try {
    const t0 = Date.now();
    const first = await start({ DATA_DIR: dataDir });
    const firstMs = await first.ready(60_000, t0);
    const admin = await token('admin-embedded', 'admin');
    const listed = await first.gql<{ plans: unknown[] }>(PlanNamesDocument);
    expect(listed.errors).toBeUndefined();
    expect(listed.data?.plans).toEqual([]);
    expect((await first.gql(CreatePlanDocument, { input: { name: 'Embedded', price: 100 } }, admin)).errors).toBeUndefined();
    await expectCleanStop(first);
    expect(existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(false); // PostgreSQL was stopped too

    const t1 = Date.now();
    const second = await start({ DATA_DIR: dataDir });
    const secondMs = await second.ready(60_000, t1);
    const relisted = await second.gql<{ plans: Array<{ name: string }> }>(PlanNamesDocument);
    expect(relisted.errors).toBeUndefined();
    expect(relisted.data?.plans.map((p) => p.name)).toEqual(['Embedded']);
    await expectCleanStop(second);
    console.log(`embedded PostgreSQL: first start (initdb) ready in ${firstMs} ms, second start (reuse) in ${secondMs} ms`);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 180_000);

/** Whether a process with this id exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid of the embedded PostgreSQL serving `dataDir` (first line of its postmaster.pid). */
const postgresPid = (dataDir: string) => Number(readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);

/** A data folder the embedded server's `postgres` user (as root) can enter. */
function openDataDir(): string {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'commerce-data-'));
  chmodSync(dataDir, 0o755);
  return dataDir;
}

test('Ctrl-C in a terminal (SIGINT to the whole process group) stops the API, then its embedded PostgreSQL: exit 0, no connection cut', async () => {
  const dataDir = openDataDir();
  try {
    // Logs on: a connection cut from under the API would be logged as an error.
    const p = await start({ DATA_DIR: dataDir, LOG_LEVEL: 'info' });
    await p.ready(120_000, Date.now());
    const admin = await token('admin-ctrl-c', 'admin');
    const made = await p.gql(CreatePlanDocument, { input: { name: 'Ctrl-C', price: 100 } }, admin);
    expect({ errors: made.errors, output: made.errors ? p.output : '' }).toEqual({ errors: undefined, output: '' });
    const pgPid = postgresPid(dataDir);
    expect(alive(pgPid)).toBe(true);

    const code = await p.signalGroup('SIGINT');
    const errors = p.output.split('\n').filter((l) => /"level":(50|60)|connection lost|terminating connection|Connection terminated|ECONNREFUSED|error while stopping/i.test(l));
    expect({ code, errors }).toEqual({ code: 0, errors: [] });
    expect(alive(pgPid)).toBe(false); // stopped by the API before it exited
    expect(existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 240_000);

test('an API killed outright (SIGKILL) does not leave its embedded PostgreSQL running, and the next start uses the same data', async () => {
  const dataDir = openDataDir();
  try {
    const first = await start({ DATA_DIR: dataDir, LOG_LEVEL: 'info' });
    await first.ready(120_000, Date.now());
    const admin = await token('admin-killed', 'admin');
    expect((await first.gql(CreatePlanDocument, { input: { name: 'Outlives a kill', price: 100 } }, admin)).errors).toBeUndefined();
    const pgPid = postgresPid(dataDir);
    // The server process itself (its log lines carry its pid).
    const serverPid = Number(/"pid":(\d+)/.exec(first.output)?.[1]);
    expect(alive(serverPid)).toBe(true);

    process.kill(serverPid, 'SIGKILL');
    await until(`the embedded PostgreSQL (pid ${pgPid}) to stop after its API was killed`, () => !alive(pgPid), 30_000);
    first.kill();

    const second = await start({ DATA_DIR: dataDir });
    await second.ready(120_000, Date.now());
    const listed = await second.gql<{ plans: Array<{ name: string }> }>(PlanNamesDocument);
    expect(listed.errors).toBeUndefined();
    expect(listed.data?.plans.map((x) => x.name)).toEqual(['Outlives a kill']);
    await expectCleanStop(second);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 300_000);

test('a SIGTERM while the server is still starting stops it once it is up, through the graceful path (exit 0)', async () => {
  const p = await start({ DATABASE_URL: await createTestDatabase() });
  // Printed once the process listens for signals, before the database and the server start.
  await until('the first start-up line', () => /REDIS_URL is unset/.test(p.output), 120_000);
  expect(p.output).not.toMatch(/GraphQL on/);
  await expectCleanStop(p);
  expect(p.output).toMatch(/GraphQL on/);
}, 180_000);
