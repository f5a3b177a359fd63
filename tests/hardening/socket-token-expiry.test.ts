import { createClient, type Client } from 'graphql-ws';
import { SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { startTestServer, TEST_SECRET, token, type TestServer } from '../support/server';
import { until } from '../support/until';

/**
 * A socket lives no longer than its token (CONTRACT.md, Transport): once `exp` has passed no operation
 * runs on it and the server closes it with 4403, subscriptions included. The verifier allows a few
 * seconds of clock skew on `exp` for HTTP; a socket ends at `exp` itself.
 */
let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ RUN_WORKER: 'false' });
});
afterAll(() => s?.stop());

const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map(async (c) => c.dispose()));
});

/** A token whose `exp` is `secondsFromNow` away (negative: already past). */
const tokenExpiring = (sub: string, role: string, secondsFromNow: number) =>
  new SignJWT({ role })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + secondsFromNow)
    .sign(new TextEncoder().encode(TEST_SECRET));

function client(connectionParams?: Record<string, unknown>) {
  const closes: number[] = [];
  const c = createClient({
    url: s.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams,
    retryAttempts: 0,
    on: { closed: (e) => void closes.push((e as { code: number }).code) },
  });
  clients.push(c);
  return { client: c, closes };
}

/** Runs one operation to its end: its result, or the close code that ended it. */
function run(c: Client, query: string, extensions?: Record<string, unknown>): Promise<{ data?: any; errors?: any; closeCode?: number }> {
  return new Promise((resolve) => {
    let result: { data?: any; errors?: any } = {};
    c.subscribe(
      { query, extensions },
      {
        next: (r) => (result = r),
        error: (e) => resolve(Array.isArray(e) ? { errors: e } : { closeCode: (e as { code?: number }).code }),
        complete: () => resolve(result),
      },
    );
  });
}

/** A running subscription and how it ended. */
function watch(c: Client, query: string, extensions?: Record<string, unknown>) {
  const state: { started: boolean; closeCode?: number; ended?: string } = { started: false };
  c.subscribe(
    { query, extensions },
    {
      next: () => undefined,
      error: (e) => {
        state.ended = 'error';
        state.closeCode = (e as { code?: number }).code;
      },
      complete: () => (state.ended = 'complete'),
    },
  );
  return state;
}

const credit = (customerId: string, reference: string) =>
  `mutation { creditWallet(customerId: "${customerId}", amount: 100, reference: "${reference}") { balance { amount } } }`;

async function balanceOf(customer: string): Promise<number> {
  const r = await s.gql(`{ wallet { balance { amount } } }`, {}, await token(customer));
  return r.data.wallet.balance.amount;
}

test('an admin socket whose token expires: its subscription is closed with 4403 and no mutation runs after exp', async () => {
  const customer = `cust-${randomUUID()}`;
  expect(await balanceOf(customer)).toBe(0);
  const admin = `admin-${randomUUID()}`;
  const { client: c, closes } = client({ authorization: `Bearer ${await tokenExpiring(admin, 'admin', 3)}` });

  // Before exp the token works: a credit runs and a subscription is open.
  const before = await run(c, credit(customer, `before-${randomUUID()}`));
  expect(before.errors).toBeUndefined();
  expect(before.data.creditWallet.balance.amount).toBe(100);
  const sub = watch(c, `subscription { myOrdersUpdated { id } }`);

  // At exp the server closes the socket, the subscription with it.
  const code = await until('the subscription to end when the token expires', () => sub.ended && sub.closeCode);
  expect(code).toBe(4403);
  expect(closes).toContain(4403);

  // The same client tries again with the same (now expired, yet within the clock skew) token.
  const after = await run(c, credit(customer, `after-${randomUUID()}`));
  expect(after.closeCode).toBe(4403);
  expect(after.data).toBeUndefined();
  expect(await balanceOf(customer)).toBe(100);
});

test('a token that expired 2 s ago, in connectionParams: closed with 4403, the mutation does not run', async () => {
  const customer = `cust-${randomUUID()}`;
  const { client: c } = client({ authorization: `Bearer ${await tokenExpiring(`admin-${randomUUID()}`, 'admin', -2)}` });
  const r = await run(c, credit(customer, randomUUID()));
  expect(r.closeCode).toBe(4403);
  expect(await balanceOf(customer)).toBe(0);
});

test('the IDE’s way, a token that expired 2 s ago in extensions.headers: closed with 4403, the mutation does not run', async () => {
  const customer = `cust-${randomUUID()}`;
  const { client: c } = client();
  const headers = { Authorization: `Bearer ${await tokenExpiring(`admin-${randomUUID()}`, 'admin', -2)}` };
  const r = await run(c, credit(customer, randomUUID()), { headers });
  expect(r.closeCode).toBe(4403);
  expect(await balanceOf(customer)).toBe(0);
});

test('the IDE’s way, a token of a few seconds in extensions.headers: its subscription is closed with 4403 at exp', async () => {
  const sub = `cust-${randomUUID()}`;
  const { client: c } = client();
  const headers = { Authorization: `Bearer ${await tokenExpiring(sub, 'customer', 2)}` };
  const me = await run(c, `{ me { id } }`, { headers });
  expect(me.data?.me.id).toBe(sub);
  const watching = watch(c, `subscription { myOrdersUpdated { id } }`, { headers });
  expect(await until('the subscription to end when the token expires', () => watching.ended && watching.closeCode)).toBe(4403);
});

test('only the expired token’s socket is closed: a socket with an hour-long token keeps its subscription', async () => {
  const long = client({ authorization: `Bearer ${await token(`cust-${randomUUID()}`)}` });
  const short = client({ authorization: `Bearer ${await tokenExpiring(`cust-${randomUUID()}`, 'customer', 2)}` });
  const kept = watch(long.client, `subscription { myOrdersUpdated { id } }`);
  const ended = watch(short.client, `subscription { myOrdersUpdated { id } }`);
  expect(await until('the short token’s subscription to end', () => ended.ended && ended.closeCode)).toBe(4403);
  // The long-lived socket still answers.
  expect((await run(long.client, `{ me { id } }`)).errors).toBeUndefined();
  expect(kept.ended).toBeUndefined();
});
