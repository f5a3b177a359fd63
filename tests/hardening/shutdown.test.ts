import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import WebSocket from 'ws';
import { createTestDatabase, TEST_SECRET, token } from '../support/server';
import { until } from '../support/until';
import { post, spawnServer, type SpawnedServer } from './helpers';

jest.setTimeout(90_000);

let server: SpawnedServer | undefined;
let databaseUrl: string;
afterAll(() => {
  if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
});

/** A graphql-transport-ws socket, acknowledged, with its close event. */
async function openSocket(url: string, auth: string) {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${auth}` } })));
    ws.on('message', (d) => JSON.parse((d as Buffer).toString()).type === 'connection_ack' && resolve());
    ws.once('error', reject);
  });
  return { ws, closed };
}

test('SIGTERM under load: in-flight requests finish, new ones are refused, sockets close with 1001, exit 0 in bounded time', async () => {
  databaseUrl = await createTestDatabase();
  server = await spawnServer({ DATABASE_URL: databaseUrl, JWT_SECRET: TEST_SECRET });
  const { url } = server;
  const sockets = await Promise.all([1, 2].map(async () => openSocket(url, await token(`cust-${randomUUID()}`))));

  // Hold the customer table so requests of new customers are in flight (waiting on the lock) when SIGTERM comes.
  const locker = new Client({ connectionString: databaseUrl });
  locker.on('error', () => undefined);
  await locker.connect();
  await locker.query('begin');
  await locker.query('lock table customer in access exclusive mode');
  const subs = [1, 2, 3].map(() => `cust-${randomUUID()}`);
  const inFlight = Promise.all(subs.map(async (sub) => post(url, `query InFlight { me { id } }`, { token: await token(sub), timeoutMs: 30_000 })));
  await until('three requests waiting on the lock', async () => {
    const { rows } = await locker.query(`select count(*)::int as n from pg_locks where not granted and relation = 'customer'::regclass`);
    return rows[0].n >= 3;
  });

  const termAt = Date.now();
  server.child.kill('SIGTERM');
  const closes = await Promise.all(sockets.map((s) => s.closed));
  expect(closes.map((c) => c.code)).toEqual([1001, 1001]);

  // New work is refused while the old finishes: a fresh connection is refused, or answered 503.
  await until('the listener to close', async () => {
    const r = await post(url, `{ plans { id } }`, { timeoutMs: 2_000 });
    return r.status === 503 || (r.status === 0 && r.failure !== 'timeout');
  });
  expect(server.child.exitCode).toBeNull(); // still draining

  await locker.query('rollback');
  await locker.end();
  const answers = await inFlight;
  for (const [i, a] of answers.entries()) {
    expect(a.failure).toBeUndefined();
    expect(a.status).toBe(200);
    expect(a.body.data.me.id).toBe(subs[i]);
  }
  const code = await server.exited;
  expect(code).toBe(0);
  const took = Date.now() - termAt;
  expect(took).toBeLessThan(25_000);
  console.log(`graceful stop: exit ${code} ${took} ms after SIGTERM, ${answers.length} in-flight requests answered`);
});
