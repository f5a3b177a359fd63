import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { heartbeat, type Heartbeat } from '../../src/http/heartbeat';

// A real ws server and real clients, with an interval short enough to watch a few rounds.
const INTERVAL_MS = 200;
const TICK_MS = 20;

let wss: WebSocketServer;
let beat: Heartbeat;
let url: string;
const clients: WebSocket[] = [];

beforeEach(async () => {
  wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  beat = heartbeat(wss, INTERVAL_MS, TICK_MS);
});

afterEach(async () => {
  beat.stop();
  for (const c of clients.splice(0)) c.terminate();
  await new Promise<void>((resolve) => wss.close(() => resolve()));
});

/** A client that answers pings (as browsers and the ws library do) or, with `autoPong: false`, ignores them. */
async function connect(autoPong: boolean) {
  const socket = new WebSocket(url, { autoPong });
  clients.push(socket);
  const pings: number[] = [];
  socket.on('ping', () => pings.push(Date.now()));
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => socket.once('open', () => resolve()).once('error', reject));
  return { socket, pings, closed };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a client that answers is pinged once an interval and kept', async () => {
  const alive = await connect(true);
  await sleep(INTERVAL_MS * 4.5);
  expect(alive.socket.readyState).toBe(WebSocket.OPEN);
  // About one ping an interval: four or five in four and a half intervals (fewer when a busy machine
  // delays the timer), never one a tick.
  expect(alive.pings.length).toBeGreaterThanOrEqual(2);
  expect(alive.pings.length).toBeLessThanOrEqual(5);
  const gaps = alive.pings.slice(1).map((at, i) => at - alive.pings[i]);
  for (const gap of gaps) expect(gap).toBeGreaterThan(INTERVAL_MS * 0.6);
});

test('a client that stops answering is dropped at its first unanswered ping, and only it', async () => {
  const alive = await connect(true);
  const silent = await connect(false);
  const started = Date.now();
  // The silent client's socket is terminated by the server: an abnormal close (1006) on its side.
  expect(await silent.closed).toBe(1006);
  // Pinged once, then dropped at its slice's next tick instead of being pinged again.
  expect(silent.pings).toHaveLength(1);
  // That is within two intervals of connecting; the bound leaves room for a busy machine's late timers.
  expect(Date.now() - started).toBeLessThan(INTERVAL_MS * 4);
  expect(alive.socket.readyState).toBe(WebSocket.OPEN);
});

test('sockets are spread over the ticks: a crowd connecting at once is not pinged in one burst', async () => {
  const crowd = await Promise.all(Array.from({ length: 10 }, () => connect(true)));
  await sleep(INTERVAL_MS * 1.5);
  const firstPings = crowd.map((c) => c.pings[0]).filter((at) => at !== undefined);
  expect(firstPings).toHaveLength(10);
  // Ten sockets dealt over ten slices: their first pings span most of an interval.
  expect(Math.max(...firstPings) - Math.min(...firstPings)).toBeGreaterThanOrEqual(TICK_MS * 5);
});

test('slices thinned by disconnects are filled first, so the ticks stay even', async () => {
  // Ten slices of 50 ms: ten sockets one to a slice, in tick order.
  beat.stop();
  const tick = 50;
  beat = heartbeat(wss, tick * 10, tick);
  const first = [];
  for (let i = 0; i < 10; i++) first.push(await connect(true));
  // The last five leave: half the slices are empty. Five newcomers must go there, not on top of the
  // first five (which would make five ticks ping two sockets each and five ping none).
  for (const c of first.slice(5)) c.socket.terminate();
  await Promise.all(first.slice(5).map((c) => c.closed));
  // The server drops them from their slices when it sees them close, which can come a moment later.
  while (wss.clients.size > 5) await sleep(5);
  const newcomers = [];
  for (let i = 0; i < 5; i++) newcomers.push(await connect(true));
  const live = [...first.slice(0, 5), ...newcomers];
  const since = Date.now();
  await sleep(tick * 10 * 1.5);
  const pings = live.map((c) => c.pings.find((at) => at >= since)).filter((at): at is number => at !== undefined);
  expect(pings).toHaveLength(10);
  pings.sort((a, b) => a - b);
  // One socket a tick: consecutive pings about a tick apart. Two sockets in one slice would be pinged
  // in the same go, within a millisecond or two; allow one such pair for a timer a busy machine delayed.
  const together = pings.slice(1).filter((at, i) => at - pings[i] < tick * 0.3).length;
  expect(together).toBeLessThanOrEqual(1);
});

test('once stopped, it pings no more', async () => {
  const alive = await connect(true);
  beat.stop();
  const before = alive.pings.length;
  await sleep(INTERVAL_MS * 2);
  expect(alive.pings.length).toBe(before);
  expect(alive.socket.readyState).toBe(WebSocket.OPEN);
});
