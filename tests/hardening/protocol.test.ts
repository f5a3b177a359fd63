import { serverAudits, type AuditResult } from 'graphql-http';
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { Topic } from '../../src/infra/pubsub';
import { localListeners } from '../support/live';
import { startTestServer, token, type TestServer } from '../support/server';
import { until } from '../support/until';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ WS_INIT_TIMEOUT_MS: '400' });
});
afterAll(() => s?.stop());

describe('GraphQL over HTTP audits (graphql-http)', () => {
  const results: AuditResult[] = [];
  beforeAll(async () => {
    for (const audit of serverAudits({ url: () => `${s.url}/graphql` })) results.push(await audit.fn());
  });

  test('every MUST passes', () => {
    const musts = results.filter((r) => r.name.startsWith('MUST'));
    expect(musts.length).toBeGreaterThan(10);
    expect(musts.filter((r) => r.status !== 'ok').map((r) => `${r.id} ${r.name}: ${'reason' in r ? r.reason : ''}`)).toEqual([]);
  });

  test('the SHOULDs that do not pass are the known ones (Apollo’s choices), no more', () => {
    const failing = results.filter((r) => r.name.startsWith('SHOULD') && r.status !== 'ok').map((r) => r.id);
    // Printed so the operator docs can list them; a new one fails here.
    if (failing.length) console.log(`SHOULD audits not passed:\n${results.filter((r) => failing.includes(r.id)).map((r) => `  ${r.id} ${r.name}: ${'reason' in r ? r.reason : ''}`).join('\n')}`);
    expect(failing.sort()).toEqual(KNOWN_SHOULD_FAILURES.sort());
  });
});

/**
 * graphql-http SHOULD audits Apollo Server 5 answers otherwise: for `accept: application/json` the
 * spec's legacy rule asks 200 on parse, validation and variable-coercion failures; Apollo answers 400
 * (what `application/graphql-response+json` asks), which clients of this API rely on.
 */
const KNOWN_SHOULD_FAILURES = ['572B', 'FDE2', '7B9B'];

/** A raw graphql-transport-ws socket with its close event and received messages (to the suite's server unless `url` is given). */
function rawSocket(protocol = 'graphql-transport-ws', url = s.wsUrl) {
  const ws = new WebSocket(url, protocol);
  const messages: any[] = [];
  ws.on('message', (d) => messages.push(JSON.parse((d as Buffer).toString())));
  const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason), at: Date.now() })));
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const send = (m: object) => ws.send(JSON.stringify(m));
  const nextMessage = (type: string) =>
    new Promise<any>((resolve) => {
      const found = messages.find((m) => m.type === type);
      if (found) return resolve(found);
      const on = (d: WebSocket.RawData) => {
        const m = JSON.parse((d as Buffer).toString());
        if (m.type === type) {
          ws.off('message', on);
          resolve(m);
        }
      };
      ws.on('message', on);
    });
  return { ws, messages, closed, opened, send, nextMessage };
}

/** A raw socket whose `connection_init` with `sub`'s token has been acknowledged. */
async function ackedSocket(sub: string, url = s.wsUrl) {
  const c = rawSocket('graphql-transport-ws', url);
  await c.opened;
  c.send({ type: 'connection_init', payload: { authorization: `Bearer ${await token(sub)}` } });
  await c.nextMessage('connection_ack');
  return c;
}

describe('graphql-transport-ws protocol edges, with a raw socket', () => {
  test('subscribe before connection_init closes with 4401', async () => {
    const c = rawSocket();
    await c.opened;
    c.send({ id: '1', type: 'subscribe', payload: { query: '{ plans { id } }' } });
    expect((await c.closed).code).toBe(4401);
  });

  test('no connection_init within WS_INIT_TIMEOUT_MS closes with 4408', async () => {
    const c = rawSocket();
    await c.opened;
    const opened = Date.now();
    const { code, at } = await c.closed;
    expect(code).toBe(4408);
    expect(at - opened).toBeGreaterThanOrEqual(350);
    expect(at - opened).toBeLessThan(5_000);
  });

  test('a second connection_init closes with 4429', async () => {
    const c = rawSocket();
    await c.opened;
    c.send({ type: 'connection_init', payload: { authorization: `Bearer ${await token(`cust-${randomUUID()}`)}` } });
    await c.nextMessage('connection_ack');
    c.send({ type: 'connection_init', payload: {} });
    expect((await c.closed).code).toBe(4429);
  });

  test('a subscription id already in use closes with 4409', async () => {
    const c = rawSocket();
    await c.opened;
    c.send({ type: 'connection_init', payload: { authorization: `Bearer ${await token(`cust-${randomUUID()}`)}` } });
    await c.nextMessage('connection_ack');
    // Both frames leave together: the first operation is still running when the second arrives.
    c.send({ id: 'same', type: 'subscribe', payload: { query: '{ me { id } }' } });
    c.send({ id: 'same', type: 'subscribe', payload: { query: '{ me { id } }' } });
    const { code, reason } = await c.closed;
    expect(code).toBe(4409);
    expect(reason).toMatch(/same/);
  });

  test('an id the client completed is in use until its run has ended: subscribing under it again closes with 4409, and nothing of the socket keeps listening', async () => {
    const sub = `cust-${randomUUID()}`;
    for (let round = 0; round < 5; round++) {
      const c = await ackedSocket(sub);
      // All three frames leave together: the first run is still reading the caller's orders when the
      // client completes it and subscribes again under its id.
      const query = 'subscription { myOrdersUpdated { id version } }';
      c.send({ id: 'x', type: 'subscribe', payload: { query } });
      c.send({ id: 'x', type: 'complete' });
      c.send({ id: 'x', type: 'subscribe', payload: { query } });
      const { code, reason } = await c.closed;
      expect(code).toBe(4409);
      expect(reason).toMatch(/x/);
    }
    // Both runs of every socket have stopped: none is left streaming to a closed socket.
    await until('no listener left', () => localListeners(s, Topic.CUSTOMER_ORDERS_UPDATED, sub) === 0, 3_000);
    expect(localListeners(s, Topic.CUSTOMER_ORDERS_UPDATED, sub)).toBe(0);
  });

  test('an id is free again once its run has ended: complete, wait for it, subscribe again on the same socket', async () => {
    const sub = `cust-${randomUUID()}`;
    const c = await ackedSocket(sub);
    const query = 'subscription { myOrdersUpdated { id version } }';
    c.send({ id: 'x', type: 'subscribe', payload: { query } });
    await until('the first run listening', () => localListeners(s, Topic.CUSTOMER_ORDERS_UPDATED, sub) === 1);
    c.send({ id: 'x', type: 'complete' });
    await until('the first run ended', () => localListeners(s, Topic.CUSTOMER_ORDERS_UPDATED, sub) === 0);
    c.send({ id: 'x', type: 'subscribe', payload: { query } });
    await until('the second run listening', () => localListeners(s, Topic.CUSTOMER_ORDERS_UPDATED, sub) === 1);
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    c.ws.close(1000);
    await c.closed;
    await until('no listener left', () => localListeners(s, Topic.CUSTOMER_ORDERS_UPDATED, sub) === 0);
  });

  test('a wrong subprotocol is refused (4406 or a failed handshake)', async () => {
    const c = rawSocket('graphql-ws');
    const outcome = await Promise.race([c.opened.then(() => c.closed.then((x) => x.code)), c.closed.then((x) => x.code)]).catch(() => 'handshake refused');
    expect([4406, 1002, 'handshake refused']).toContain(outcome);
  });

  test('an invalid message closes with 4400', async () => {
    const c = rawSocket();
    await c.opened;
    c.ws.send('{"type":"nonsense"}');
    expect((await c.closed).code).toBe(4400);
  });

  test('ping is answered with pong before and after init', async () => {
    const c = rawSocket();
    await c.opened;
    c.send({ type: 'ping' });
    await c.nextMessage('pong');
    c.ws.close(1000);
  });
});

describe('BODY_LIMIT_BYTES bounds a WebSocket message as it bounds a body', () => {
  let small: TestServer;
  beforeAll(async () => {
    small = await startTestServer({ BODY_LIMIT_BYTES: '4096' });
  });
  afterAll(() => small?.stop());

  test('an operation of 20 KB is refused over HTTP (413) and over the socket (closed with 1009, nothing run)', async () => {
    const sub = `cust-${randomUUID()}`;
    const payload = { query: '{ me { id } }', variables: { pad: 'x'.repeat(20_000) } };
    const http = await fetch(`${small.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await token(sub)}` },
      body: JSON.stringify(payload),
    });
    expect(http.status).toBe(413);

    const c = await ackedSocket(sub, small.wsUrl);
    c.send({ id: '1', type: 'subscribe', payload });
    expect((await c.closed).code).toBe(1009);
    expect(c.messages.filter((m) => m.id === '1')).toEqual([]);
  });

  test('a message within the limit runs', async () => {
    const sub = `cust-${randomUUID()}`;
    const c = await ackedSocket(sub, small.wsUrl);
    c.send({ id: '1', type: 'subscribe', payload: { query: '{ me { id } }', variables: { pad: 'x'.repeat(2_000) } } });
    expect((await c.nextMessage('next')).payload.data.me.id).toBe(sub);
    c.ws.close(1000);
  });
});
