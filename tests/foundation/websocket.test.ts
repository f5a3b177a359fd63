import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { MeDocument } from '../__generated__/graphql';
import { startTestServer, token, type TestServer } from '../support/server';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ RUN_WORKER: 'false' });
});
afterAll(() => s.stop());

const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map(async (c) => c.dispose()));
});

interface Outcome {
  data?: any;
  errors?: unknown;
  closeCode?: number;
}

/** Runs one operation over graphql-ws and reports its result, or the close code that ended the socket. */
function runOverWs(opts: { connectionParams?: Record<string, unknown>; extensions?: Record<string, unknown> }): Promise<Outcome> {
  return new Promise((resolve) => {
    let outcome: Outcome = {};
    const client = createClient({
      url: s.wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: opts.connectionParams,
      retryAttempts: 0,
      lazy: true,
      on: {
        closed: (e) => {
          const code = (e as { code?: number }).code;
          if (code !== 1000) resolve({ ...outcome, closeCode: code });
        },
      },
    });
    clients.push(client);
    client.subscribe(
      { query: print(MeDocument), extensions: opts.extensions },
      {
        next: (r) => (outcome = { ...outcome, data: r.data, errors: r.errors }),
        error: (e) => {
          const code = (e as { code?: number }).code;
          resolve({ ...outcome, closeCode: code });
        },
        complete: () => resolve(outcome),
      },
    );
  });
}

test('a valid token in connectionParams runs a query over the socket', async () => {
  const sub = `cust-${randomUUID()}`;
  const r = await runOverWs({ connectionParams: { authorization: `Bearer ${await token(sub)}` } });
  expect(r.closeCode).toBeUndefined();
  expect(r.errors).toBeUndefined();
  expect(r.data).toEqual({ me: { id: sub, group: 'default', role: 'customer' } });
});

test('a bad token in connectionParams closes the socket with 4403', async () => {
  const r = await runOverWs({ connectionParams: { authorization: 'Bearer not-a-jwt' } });
  expect(r.closeCode).toBe(4403);
  expect(r.data).toBeUndefined();
});

test('an expired token in connectionParams closes the socket with 4403', async () => {
  const r = await runOverWs({ connectionParams: { authorization: `Bearer ${await token(`cust-${randomUUID()}`, 'customer', { expiresIn: -60 })}` } });
  expect(r.closeCode).toBe(4403);
});

test('no token at all, then an operation: closed with 4401', async () => {
  const r = await runOverWs({});
  expect(r.closeCode).toBe(4401);
  expect(r.data).toBeUndefined();
});

test('the IDE’s way: the token in the operation’s extensions.headers.Authorization', async () => {
  const sub = `cust-${randomUUID()}`;
  const r = await runOverWs({ extensions: { headers: { Authorization: `Bearer ${await token(sub)}` } } });
  expect(r.closeCode).toBeUndefined();
  expect(r.data?.me.id).toBe(sub);
});

test('a bad token in extensions.headers closes with 4403', async () => {
  const r = await runOverWs({ extensions: { headers: { Authorization: 'Bearer not-a-jwt' } } });
  expect(r.closeCode).toBe(4403);
});
