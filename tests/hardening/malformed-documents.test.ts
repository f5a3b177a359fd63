import { createClient, type Client } from 'graphql-ws';
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { startApp, type RunningApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createTestDatabase, TEST_SECRET, token } from '../support/server';

/**
 * Documents the spec's own rules refuse (an unknown fragment, fragments spreading each other) must be
 * answered like any other invalid document: 400 GRAPHQL_VALIDATION_FAILED over HTTP, an `error`
 * message over WebSocket with the socket left open, and nothing printed outside the JSON logs.
 */
const malformed: Record<string, { query: string; message: RegExp }> = {
  'an unknown fragment': { query: `query Broken { plans { id ...Nope } }`, message: /Unknown fragment "Nope"/ },
  'a fragment spreading itself': {
    query: `query Loop { plans { ...A } } fragment A on Plan { id ...A }`,
    message: /Cannot spread fragment "A" within itself/,
  },
  'two fragments spreading each other': {
    query: `query Cycle { plans { ...A } } fragment A on Plan { id ...B } fragment B on Plan { name ...A }`,
    message: /Cannot spread fragment "A" within itself via "B"/,
  },
  'a cycle through a field': {
    query: `query Deep { plans { ...A } } fragment A on Plan { upgrades { ...B } } fragment B on PlanUpgrade { price { amount } ...B }`,
    message: /Cannot spread fragment "B" within itself/,
  },
};

const lines: string[] = [];
let app: RunningApp;
let wsUrl: string;
/** Everything written to the console or stderr by this process while the tests run. */
const printed: string[] = [];
const restore: Array<() => void> = [];

beforeAll(async () => {
  const databaseUrl = await createTestDatabase();
  const config = loadConfig({ NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', DATABASE_URL: databaseUrl, JWT_SECRET: TEST_SECRET, LOG_LEVEL: 'info', RUN_WORKER: 'false' });
  app = await startApp(config, databaseUrl, { logStream: { write: (line) => void lines.push(line) } });
  wsUrl = `${app.url.replace('http', 'ws')}/graphql`;
  for (const method of ['error', 'warn', 'log', 'info', 'debug', 'trace'] as const) {
    const spy = jest.spyOn(console, method).mockImplementation((...args: unknown[]) => void printed.push(`console.${method}: ${args.map(String).join(' ')}`));
    restore.push(() => spy.mockRestore());
  }
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    printed.push(`stderr: ${String(chunk)}`);
    return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
  });
  restore.push(() => (process.stderr.write = write));
});
afterAll(async () => {
  restore.forEach((r) => r());
  await app?.stop();
});

async function post(query: string, auth?: string) {
  const res = await fetch(`${app.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, body: (await res.json()) };
}

describe.each(Object.entries(malformed))('%s', (_name, { query, message }) => {
  test('over HTTP: 400 GRAPHQL_VALIDATION_FAILED naming the problem, nothing printed, no error logged', async () => {
    for (const auth of [undefined, await token(`cust-${randomUUID()}`)]) {
      const r = await post(query, auth);
      expect([r.status, r.body.errors?.[0]?.extensions?.code]).toEqual([400, 'GRAPHQL_VALIDATION_FAILED']);
      expect(r.body.errors.map((e: { message: string }) => e.message).join('\n')).toMatch(message);
      expect(r.body.data ?? null).toBeNull();
    }
    expect(printed).toEqual([]);
    expect(lines.map((l) => JSON.parse(l)).filter((l) => l.level >= 50)).toEqual([]);
  });

  test('over WebSocket: an error message for that operation, the socket stays open for the next one', async () => {
    const sub = `cust-${randomUUID()}`;
    let connections = 0;
    const closes: number[] = [];
    const client: Client = createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${await token(sub)}` },
      retryAttempts: 0,
      on: { connected: () => void (connections += 1), closed: (e) => void closes.push((e as { code: number }).code) },
    });
    try {
      const refused = await new Promise<any>((resolve) => {
        client.subscribe({ query }, { next: (r) => resolve({ next: r }), error: (e) => resolve({ error: e }), complete: () => resolve({ complete: true }) });
      });
      // graphql-ws reports an `error` message as the array of its errors; a close would be a CloseEvent.
      expect(Array.isArray(refused.error)).toBe(true);
      expect(refused.error[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(refused.error.map((e: { message: string }) => e.message).join('\n')).toMatch(message);
      const next = await new Promise<any>((resolve, reject) => {
        let result: unknown;
        client.subscribe({ query: `{ me { id } }` }, { next: (r) => (result = r), error: reject, complete: () => resolve(result) });
      });
      expect(next.data.me.id).toBe(sub);
      expect({ connections, closes }).toEqual({ connections: 1, closes: [] });
    } finally {
      await client.dispose();
    }
    expect(printed).toEqual([]);
  });
});

test('a WebSocket message over the size limit (BODY_LIMIT_BYTES, 100 KiB by default) closes that socket (1009) and prints nothing', async () => {
  const ws = new WebSocket(wsUrl, 'graphql-transport-ws');
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  await new Promise((resolve) => ws.once('open', resolve));
  ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${await token(`cust-${randomUUID()}`)}` } }));
  await new Promise((resolve) => ws.once('message', resolve));
  ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ me { id } }', variables: { pad: 'x'.repeat(110_000) } } }));
  expect(await closed).toBe(1009);
  expect(printed).toEqual([]);
});

describe('an operation the document does not name', () => {
  const cases = [
    { name: 'an operationName the document lacks', query: 'query A { plans { id } }', operationName: 'B' },
    { name: 'two operations and no operationName', query: 'query A { plans { id } } query B { plans { name } }', operationName: undefined },
  ];
  test.each(cases)('$name: OPERATION_RESOLUTION_FAILURE over WebSocket as over HTTP, not an internal error; the socket stays open', async ({ query, operationName }) => {
    const auth = await token(`cust-${randomUUID()}`);
    const res = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${auth}` },
      body: JSON.stringify({ query, operationName }),
    });
    const http = (await res.json()).errors;
    expect(http).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'OPERATION_RESOLUTION_FAILURE' }) })]);

    const client: Client = createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${auth}` }, retryAttempts: 0 });
    try {
      const answer = await new Promise<any>((resolve) => {
        client.subscribe({ query, operationName }, { next: (r) => resolve({ next: r }), error: (e) => resolve({ error: e }), complete: () => resolve({ complete: true }) });
      });
      expect(answer.error).toEqual([{ message: http[0].message, extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } }]);
      const next = await new Promise<any>((resolve, reject) => {
        let result: unknown;
        client.subscribe({ query, operationName: 'A' }, { next: (r) => (result = r), error: reject, complete: () => resolve(result) });
      });
      expect(next.data.plans).toEqual(expect.any(Array));
    } finally {
      await client.dispose();
    }
    expect(lines.map((l) => JSON.parse(l)).filter((l) => l.level >= 50)).toEqual([]);
  });
});
