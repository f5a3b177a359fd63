import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { startTestServer, token, type TestServer } from '../support/server';
import { until } from '../support/until';

/**
 * Sockets are an allowance like any other: a caller (token subject; the address for a socket not yet
 * authenticated) holds at most WS_MAX_SOCKETS_PER_CALLER at once, and a socket that has not
 * authenticated within WS_INIT_TIMEOUT_MS is closed, whether or not it sent connection_init.
 */
let s: TestServer;
const INIT_TIMEOUT_MS = 600;
beforeAll(async () => {
  s = await startTestServer({ RUN_WORKER: 'false', WS_MAX_SOCKETS_PER_CALLER: '2', WS_INIT_TIMEOUT_MS: String(INIT_TIMEOUT_MS) });
});
afterAll(() => s?.stop());

const sockets: WebSocket[] = [];
afterEach(() => {
  for (const ws of sockets.splice(0)) ws.terminate();
});

/**
 * Source addresses for sockets not yet authenticated, one per test (any 127.x.y.z reaches the server
 * on Linux), so a test never sees another's unauthenticated sockets in its address's count.
 */
let lastAddress = 1;
const nextAddress = () => `127.0.0.${++lastAddress}`;

/** A raw graphql-transport-ws socket: its messages, how it closed, and a way to wait for either. */
function rawSocket(from = '127.0.0.1') {
  const ws = new WebSocket(s.wsUrl, 'graphql-transport-ws', { localAddress: from });
  sockets.push(ws);
  const messages: any[] = [];
  let close: { code: number; reason: string } | undefined;
  ws.on('message', (d: Buffer) => messages.push(JSON.parse(d.toString('utf8'))));
  ws.on('close', (code, reason) => (close = { code, reason: String(reason) }));
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const send = (m: object) => ws.send(JSON.stringify(m));
  /** Waits for a message of `type` or the close, whichever comes first. */
  const next = (what: string, pick: () => unknown, ms = 10_000) => until(what, pick, ms, 20);
  return {
    ws,
    send,
    opened,
    messages,
    get close() {
      return close;
    },
    /** The ack, or the close that came instead. */
    async init(payload: object): Promise<'ack' | { code: number; reason: string }> {
      await opened;
      send({ type: 'connection_init', payload });
      return (await next('connection_ack or close', () => (messages.some((m) => m.type === 'connection_ack') ? 'ack' : close))) as 'ack' | { code: number; reason: string };
    },
    closed: () => next('the socket to close', () => close) as Promise<{ code: number; reason: string }>,
    /** The first message about operation `id` (next, error, complete), or the close. */
    answer: (id: string) => next(`an answer to ${id}`, () => messages.find((m) => m.id === id) ?? (close && { close })),
    /** Answers a ping with a pong while open. */
    async alive(): Promise<boolean> {
      const before = messages.filter((m) => m.type === 'pong').length;
      send({ type: 'ping' });
      await next('a pong or the close', () => messages.filter((m) => m.type === 'pong').length > before || close);
      return !close;
    },
  };
}

const bearer = async (sub: string) => ({ authorization: `Bearer ${await token(sub)}` });

describe('WS_MAX_SOCKETS_PER_CALLER', () => {
  test('a caller’s third socket is closed with 4429; another caller is not affected; a freed place can be taken again', async () => {
    const alice = `cust-${randomUUID()}`;
    const a1 = rawSocket();
    const a2 = rawSocket();
    expect(await a1.init(await bearer(alice))).toBe('ack');
    expect(await a2.init(await bearer(alice))).toBe('ack');
    const a3 = rawSocket();
    expect(await a3.init(await bearer(alice))).toEqual({ code: 4429, reason: expect.stringMatching(/at most 2 per caller/) });

    // Bob has his own allowance, and Alice's sockets still answer.
    const b1 = rawSocket();
    expect(await b1.init(await bearer(`cust-${randomUUID()}`))).toBe('ack');
    expect(await a1.alive()).toBe(true);

    // Once one of Alice's sockets is gone, she may open another (as soon as the server has seen it go).
    a2.ws.close(1000);
    await a2.closed();
    await until('a place freed by a closed socket', async () => (await rawSocket().init(await bearer(alice))) === 'ack', 10_000, 50);
  });

  test('the IDE’s way counts too: a third socket authenticated by its first operation is closed with 4429, the operation not run', async () => {
    const carol = `cust-${randomUUID()}`;
    const headers = { Authorization: `Bearer ${await token(carol)}` };
    const here = nextAddress();
    const open = async () => {
      const c = rawSocket(here);
      expect(await c.init({})).toBe('ack');
      c.send({ id: 'me', type: 'subscribe', payload: { query: '{ me { id } }', extensions: { headers } } });
      return { c, answer: await c.answer('me') };
    };
    const first = await open();
    const second = await open();
    expect([first.answer, second.answer]).toEqual([
      expect.objectContaining({ type: 'next', payload: { data: { me: { id: carol } } } }),
      expect.objectContaining({ type: 'next', payload: { data: { me: { id: carol } } } }),
    ]);
    const third = await open();
    expect(third.answer).toEqual({ close: { code: 4429, reason: expect.stringMatching(/per caller/) } });
  });

  test('sockets not yet authenticated are counted per address: a third one from the same address is closed with 4429', async () => {
    const here = nextAddress();
    const n1 = rawSocket(here);
    const n2 = rawSocket(here);
    expect(await n1.init({})).toBe('ack');
    expect(await n2.init({})).toBe('ack');
    const n3 = rawSocket(here);
    expect(await n3.init({})).toEqual({ code: 4429, reason: expect.stringMatching(/per caller/) });
    // Another address is counted apart.
    expect(await rawSocket(nextAddress()).init({})).toBe('ack');
  });
});

describe('WS_INIT_TIMEOUT_MS', () => {
  test('connection_init without a token and no operation: closed with 4401 after the timeout', async () => {
    const c = rawSocket(nextAddress());
    expect(await c.init({})).toBe('ack');
    const { code, reason } = await c.closed();
    expect(code).toBe(4401);
    expect(reason).toMatch(/no token/);
  });

  test('no connection_init at all: closed with 4408', async () => {
    const c = rawSocket();
    await c.opened;
    expect((await c.closed()).code).toBe(4408);
  });

  test('a socket that authenticates with its first operation in time stays open after the timeout', async () => {
    const here = nextAddress();
    const c = rawSocket(here);
    expect(await c.init({})).toBe('ack');
    const sub = `cust-${randomUUID()}`;
    c.send({ id: 'me', type: 'subscribe', payload: { query: '{ me { id } }', extensions: { headers: { Authorization: `Bearer ${await token(sub)}` } } } });
    expect(await c.answer('me')).toMatchObject({ type: 'next', payload: { data: { me: { id: sub } } } });
    // A socket opened after it that never authenticates marks its deadline as passed.
    const later = rawSocket(here);
    expect(await later.init({})).toBe('ack');
    expect((await later.closed()).code).toBe(4401);
    expect(await c.alive()).toBe(true);
  });

  test('a socket authenticated at connection_init stays open after the timeout', async () => {
    const c = rawSocket();
    expect(await c.init(await bearer(`cust-${randomUUID()}`))).toBe('ack');
    const later = rawSocket(nextAddress());
    expect(await later.init({})).toBe('ack');
    expect((await later.closed()).code).toBe(4401);
    expect(await c.alive()).toBe(true);
  });
});

describe('operations per socket (at most 50 at once)', () => {
  test('a burst of 80 subscriptions read in one go: 50 run, 30 are refused with RATE_LIMITED; completing one frees a place', async () => {
    const c = rawSocket();
    expect(await c.init(await bearer(`cust-${randomUUID()}`))).toBe('ack');
    // Corked, the 80 frames leave in one write and the server reads them in one chunk, before any of
    // their checks has awaited anything: the way a hostile client sends them.
    const tcp = (c.ws as unknown as { _socket: Socket })._socket;
    tcp.cork();
    for (let i = 0; i < 80; i++) c.send({ id: `s${i}`, type: 'subscribe', payload: { query: 'subscription { myOrdersUpdated { id } }' } });
    tcp.uncork();

    const refused = () => c.messages.filter((m) => m.type === 'error');
    await until('30 refusals, or the close', () => refused().length >= 30 || c.close, 10_000, 20);
    expect(c.close).toBeUndefined();
    // A ping read after the burst is answered after every refusal the burst caused.
    expect(await c.alive()).toBe(true);
    expect(refused()).toHaveLength(30);
    for (const m of refused()) expect(m.payload).toEqual([expect.objectContaining({ extensions: { code: 'RATE_LIMITED' } })]);

    // The 50 others hold their places: one more operation is refused too.
    c.send({ id: 'extra', type: 'subscribe', payload: { query: '{ me { id } }' } });
    expect(await c.answer('extra')).toEqual(expect.objectContaining({ type: 'error', payload: [expect.objectContaining({ extensions: { code: 'RATE_LIMITED' } })] }));

    // A running subscription completed by the client gives its place back.
    const running = Array.from({ length: 80 }, (_, i) => `s${i}`).find((id) => !refused().some((m) => m.id === id))!;
    c.send({ id: running, type: 'complete' });
    let n = 0;
    await until('an operation to run in the freed place', async () => {
      const id = `me${n++}`;
      c.send({ id, type: 'subscribe', payload: { query: '{ me { id } }' } });
      const answer = (await c.answer(id)) as { type?: string };
      if (answer.type !== 'next') throw new Error(`answered ${JSON.stringify(answer)}`);
      return true;
    }, 10_000, 50);
    expect(c.close).toBeUndefined();
  });
});
