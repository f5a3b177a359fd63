import { createClient } from 'graphql-ws';
import { SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { startApp, type RunningApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createTestDatabase } from '../support/server';
import { until } from '../support/until';

/** Secrets of this server: none may ever appear in its logs. */
const JWT_SECRET = `jwt-secret-${randomUUID()}`;
const STRIPE_SECRET_KEY = `sk_test_${randomUUID().replace(/-/g, '')}`;
const STRIPE_WEBHOOK_SECRET = `whsec_${randomUUID().replace(/-/g, '')}`;
const CARD = '4242424242424242';

const lines: string[] = [];
let app: RunningApp;

const sign = (sub: string, role = 'customer') =>
  new SignJWT({ role }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(JWT_SECRET));

beforeAll(async () => {
  const databaseUrl = await createTestDatabase();
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    JWT_SECRET,
    STRIPE_SECRET_KEY,
    STRIPE_WEBHOOK_SECRET,
    STRIPE_API_URL: 'http://127.0.0.1:9',
    LOG_LEVEL: 'info',
  });
  app = await startApp(config, databaseUrl, { logStream: { write: (line) => void lines.push(line) } });
});
afterAll(() => app?.stop());

const parsed = () => lines.map((l) => JSON.parse(l) as Record<string, any>);

async function gql(query: string, opts: { token?: string; variables?: object; operationName?: string; requestId?: string } = {}) {
  const res = await fetch(`${app.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...(opts.requestId ? { 'x-request-id': opts.requestId } : {}),
    },
    body: JSON.stringify({ query, variables: opts.variables, operationName: opts.operationName }),
  });
  return { status: res.status, requestId: res.headers.get('x-request-id'), body: (await res.json()) };
}

/** The request line of one request id, once written (the line is written after the response is sent). */
async function requestLine(reqId: string): Promise<Record<string, any>> {
  return until(`the request line of ${reqId}`, () => parsed().find((l) => l.msg === 'request' && l.reqId === reqId), 5_000, 20);
}

test('one JSON line per request: request id, operation name, caller id, status and duration', async () => {
  const sub = `cust-${randomUUID()}`;
  const r = await gql(`query WhoAmI { me { id } } query Other { plans { id } }`, { token: await sign(sub), operationName: 'WhoAmI' });
  expect(r.body.data.me.id).toBe(sub);
  expect(r.requestId).toMatch(/[0-9a-f-]{36}/);
  const line = await requestLine(r.requestId!);
  expect(line).toMatchObject({ level: 30, method: 'POST', url: '/graphql', status: 200, op: 'WhoAmI', caller: sub });
  expect(typeof line.ms).toBe('number');
  expect(parsed().filter((l) => l.reqId === r.requestId && l.msg === 'request')).toHaveLength(1);
});

test('an anonymous request has no caller; an anonymous operation has no name; a given x-request-id is kept', async () => {
  const r = await gql(`{ plans { id } }`, { requestId: 'edge-proxy-42' });
  expect(r.requestId).toBe('edge-proxy-42');
  const line = await requestLine('edge-proxy-42');
  expect(line.caller).toBeUndefined();
  expect(line.op).toBeUndefined();
  expect(line.status).toBe(200);
});

test('health checks are logged like any request', async () => {
  const res = await fetch(`${app.url}/readyz`);
  expect(res.status).toBe(200);
  const line = await requestLine(res.headers.get('x-request-id')!);
  expect(line).toMatchObject({ url: '/readyz', status: 200 });
});

test('no token, secret, key or card number ever reaches the logs', async () => {
  const good = await sign(`cust-${randomUUID()}`, 'admin');
  const forged = await new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject('x').setExpirationTime('1h').sign(new TextEncoder().encode('not-the-secret-0123456789abcdef'));
  // Tokens in headers, good and bad, on success and on failure.
  await gql(`{ me { id } }`, { token: good });
  await gql(`{ me { id } }`, { token: forged });
  await gql(`mutation { creditWallet(customerId: "nobody", amount: -1, reference: "${CARD}") { balance { amount } } }`, { token: good });
  // Variables and a GET query string carrying card-like data.
  await gql(`query Q($c: String!) { plan(id: $c) { id } }`, { token: good, variables: { c: CARD } });
  await fetch(`${app.url}/graphql?query=${encodeURIComponent(`{ plan(id: "${CARD}") { id } }`)}&token=${good}`, { headers: { 'apollo-require-preflight': '1' } });
  // A webhook with a forged signature and card data in its body.
  const hook = await fetch(`${app.url}/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': `t=1,v1=${STRIPE_WEBHOOK_SECRET}` },
    body: JSON.stringify({ type: 'checkout.session.completed', data: { object: { card: CARD } } }),
  });
  expect(hook.status).toBe(400);
  // Tokens over WebSocket, accepted and refused.
  for (const t of [good, forged]) {
    const client = createClient({ url: `${app.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${t}` }, retryAttempts: 0, lazy: true });
    await new Promise<void>((resolve) => client.subscribe({ query: '{ me { id } }' }, { next: () => undefined, error: () => resolve(), complete: () => resolve() }));
    await client.dispose();
  }
  // A last request, once its line is written, comes after every line the ones above caused.
  const last = await gql(`{ plans { id } }`, { requestId: `last-${randomUUID()}` });
  await requestLine(last.requestId!);

  const all = lines.join('\n');
  expect(lines.length).toBeGreaterThan(8);
  for (const secret of [good, forged, good.split('.')[2], JWT_SECRET, STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, CARD]) {
    expect(all).not.toContain(secret);
  }
});
