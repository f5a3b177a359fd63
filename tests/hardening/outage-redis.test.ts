import type { Client } from 'graphql-ws';
import Redis from 'ioredis';
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../../src/infra/free-port';
import { redisBus, Topic } from '../../src/infra/pubsub';
import { cancelOrder, createOrder, createPlan, MY_ORDERS_UPDATED, ok, ORDER_UPDATED, payWithWallet, people, setDeliveryStatus, subscribe, waitSubscribers, watchedOrder, wsClient, type Sub } from '../support/live';
import { startTestServer, type TestServer } from '../support/server';
import { until } from '../support/until';


/** A Redis of this test's own, on `port`, without persistence. */
async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  await until('redis-server to start', async () => probe.connect().then(() => true, () => false), 10_000);
  probe.disconnect();
  return child;
}

async function stopRedis(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

const readyz = async (s: TestServer) => {
  const res = await fetch(`${s.url}/readyz`);
  return { status: res.status, body: (await res.json()) as { checks: Record<string, string> } };
};

let port: number;
let redisProc: ChildProcess | undefined;
let s: TestServer;
let redis: Redis;
beforeAll(async () => {
  port = await freePort();
  redisProc = await startRedis(port);
  s = await startTestServer({ REDIS_URL: `redis://127.0.0.1:${port}` });
  redis = new Redis({ port, host: '127.0.0.1', retryStrategy: () => 100 });
  redis.on('error', () => undefined);
});
afterAll(async () => {
  await s?.stop();
  redis?.disconnect();
  if (redisProc && redisProc.exitCode === null) await stopRedis(redisProc);
});

test('Redis stops and comes back: mutations commit, /readyz says 503 meanwhile, and events flow again', async () => {
  const { p, orderId, client, sub } = await watchedOrder(s, redis);
  expect(await readyz(s)).toMatchObject({ status: 200, body: { checks: { database: 'ok', redis: 'ok' } } });

  await stopRedis(redisProc!);
  await until('/readyz 503', async () => (await readyz(s)).status === 503, 10_000);
  expect((await readyz(s)).body.checks).toEqual({ database: 'ok', redis: 'down' });

  // Queries and mutations keep working; the payment commits though its event cannot go out.
  const paid = ok(await payWithWallet(s, orderId, p.customer)).payWithWallet;
  expect(paid).toMatchObject({ status: 'PAID', version: 2 });
  expect(ok(await s.gql(`query($id: ID!) { order(id: $id) { status version } }`, { id: orderId }, p.customer)).order).toEqual({ status: 'PAID', version: 2 });

  redisProc = await startRedis(port);
  await until('/readyz 200 again', async () => (await readyz(s)).status === 200, 15_000);
  // The subscriber catches up with the change it missed (the state is re-read on reconnection)...
  await until('the missed version', () => sub.events.find((e) => e.version === 2), 10_000);
  // ...and later changes flow through Redis again.
  await waitSubscribers(redis, Topic.CUSTOMER_ORDERS_UPDATED, p.ids.customer, 1);
  ok(await setDeliveryStatus(s, orderId, 'IN_PROGRESS', p.provider));
  await sub.count(3);
  expect(sub.events.map((e) => [e.version, e.status, e.delivery?.status ?? null])).toEqual([
    [1, 'PENDING', null],
    [2, 'PAID', 'NEW'],
    [3, 'PAID', 'IN_PROGRESS'],
  ]);
  // A client that subscribes anew gets the current state first.
  const late = subscribe(client, ORDER_UPDATED, { id: orderId });
  await late.count(1);
  expect(late.events[0].version).toBe(3);
  await client.dispose();
});

test("myOrdersUpdated catches up after a Redis outage: a payment and a new order made meanwhile arrive, once each", async () => {
  const p = await people();
  // Delivered by hand, so the paid order stays PAID until the provider acts.
  const planId = await createPlan(s, p, { withProvider: true });
  const first = await createOrder(s, p, planId);
  const { client } = wsClient(s, p.customer);
  const sub = subscribe(client, MY_ORDERS_UPDATED, {}, 'myOrdersUpdated');
  await waitSubscribers(redis, Topic.CUSTOMER_ORDERS_UPDATED, p.ids.customer, 1);

  await stopRedis(redisProc!);
  await until('/readyz 503', async () => (await readyz(s)).status === 503, 10_000);
  ok(await payWithWallet(s, first, p.customer));
  const second = ok(await s.gql(`mutation($input: CreateOrderInput!) { createOrder(input: $input) { id } }`, { input: { planId } }, p.customer)).createOrder.id;

  redisProc = await startRedis(port);
  await sub.count(2, 15_000);
  // A later change, made once Redis is back and sent through it: anything else the outage left to send
  // (a second catch-up, a delayed publish) would have arrived before it.
  await until('/readyz 200 again', async () => (await readyz(s)).status === 200, 15_000);
  ok(await setDeliveryStatus(s, first, 'IN_PROGRESS', p.provider));
  await until('the change made after the outage', () => sub.events.find((e) => e.id === first && e.version === 3), 15_000);
  await client.dispose();
  // The order that did not change while subscribed (its PENDING state) is not sent again.
  expect(sub.events.map((e) => [e.id, e.version, e.status]).sort()).toEqual(
    [
      [first, 2, 'PAID'],
      [second, 1, 'PENDING'],
      [first, 3, 'PAID'],
    ].sort(),
  );
});


/**
 * A second server on the test's database and Redis, and its reads of orders once `reads.start()` is
 * called: after an outage it should read them once when its subscribing connection comes back, and at
 * most once more when it says it had missed events, never once per subscriber or customer.
 */
async function serverCountingOrderReads() {
  let counting = false;
  const seen: string[] = [];
  const t = await startTestServer(
    { REDIS_URL: `redis://127.0.0.1:${port}`, MAX_UNPAID_ORDERS: '20' },
    { databaseUrl: s.databaseUrl, app: { orm: { onQuery: (q) => counting && / from "order" /.test(q) && seen.push(q) } } },
  );
  const reads = {
    start: () => void (counting = true),
    expectOneCatchUpRead: () => {
      expect(seen.length).toBeGreaterThanOrEqual(1);
      expect(seen.length).toBeLessThanOrEqual(2);
    },
  };
  return { t, reads };
}

test("after an outage one query re-reads every order an instance's subscribers watch, and each gets what it missed", async () => {
  const { t, reads } = await serverCountingOrderReads();
  try {
    const p = await people();
    const planId = await createPlan(t, p, { withProvider: true });
    const orderIds: string[] = [];
    for (let i = 0; i < 12; i++) orderIds.push(await createOrder(t, p, planId));
    const { client } = wsClient(t, p.customer);
    const subs = orderIds.map((id) => subscribe(client, ORDER_UPDATED, { id }));
    await Promise.all(subs.map((sub) => sub.count(1)));

    // Every order is cancelled while Redis is away: their events are lost.
    await stopRedis(redisProc!);
    await until('/readyz 503', async () => (await readyz(t)).status === 503, 10_000);
    for (const id of orderIds) ok(await cancelOrder(t, id, p.customer));
    reads.start();
    redisProc = await startRedis(port);
    await Promise.all(subs.map((sub) => until('the missed cancel', () => sub.events.find((e) => e.version === 2), 15_000)));
    await client.dispose();
    for (const sub of subs) expect(sub.events.map((e) => [e.version, e.status])).toEqual([
      [1, 'PENDING'],
      [2, 'CANCELLED'],
    ]);
    reads.expectOneCatchUpRead();
  } finally {
    await t.stop();
  }
});

test("after an outage one query re-reads the orders of every customer an instance's myOrdersUpdated subscribers follow", async () => {
  const { t, reads } = await serverCountingOrderReads();
  try {
    const owner = await people();
    const planId = await createPlan(t, owner, { withProvider: true });
    const customers = [owner, ...(await Promise.all(Array.from({ length: 11 }, () => people())))];
    const watching: Array<{ p: (typeof customers)[number]; first: string; second?: string; clients: Client[]; subs: Sub[]; seen: unknown[][] }> = [];
    for (const p of customers) {
      const first = await createOrder(t, p, planId);
      // The first customer follows their orders from two tabs.
      const tabs = p === owner ? 2 : 1;
      const clients = Array.from({ length: tabs }, () => wsClient(t, p.customer).client);
      const subs = clients.map((client) => subscribe(client, MY_ORDERS_UPDATED, {}, 'myOrdersUpdated'));
      await waitSubscribers(redis, Topic.CUSTOMER_ORDERS_UPDATED, p.ids.customer, 1);
      // Both tabs listen once both have the order placed next (the instance subscribes to Redis once for both).
      const seen = tabs === 2 ? [[await createOrder(t, p, planId), 1, 'PENDING']] : [];
      await Promise.all(subs.map((sub) => sub.count(seen.length)));
      watching.push({ p, first, clients, subs, seen });
    }

    // Each customer cancels their order and places another while Redis is away: the events are lost.
    await stopRedis(redisProc!);
    await until('/readyz 503', async () => (await readyz(t)).status === 503, 10_000);
    for (const w of watching) {
      ok(await cancelOrder(t, w.first, w.p.customer));
      w.second = ok(await t.gql(`mutation($input: CreateOrderInput!) { createOrder(input: $input) { id } }`, { input: { planId } }, w.p.customer)).createOrder.id;
    }
    reads.start();
    redisProc = await startRedis(port);
    await Promise.all(watching.flatMap((w) => w.subs.map((sub) => sub.count(w.seen.length + 2, 15_000))));
    await until('/readyz 200 again', async () => (await readyz(t)).status === 200, 15_000);
    for (const w of watching) {
      for (const c of w.clients) await c.dispose();
      // Each tab gets its customer's missed changes, once each, and nothing of any other customer.
      for (const sub of w.subs) expect(sub.events.map((e) => [e.id, e.version, e.status]).sort()).toEqual([...w.seen, [w.first, 2, 'CANCELLED'], [w.second, 1, 'PENDING']].sort());
    }
    reads.expectOneCatchUpRead();
  } finally {
    await t.stop();
  }
});

test('an event whose publish failed still reaches the subscribers on every instance, once the instance can say it missed one', async () => {
  const b = await startTestServer({ REDIS_URL: `redis://127.0.0.1:${port}` }, { databaseUrl: s.databaseUrl });
  try {
    const p = await people();
    // Delivered by hand: nothing but the cancel changes the order.
    const planId = await createPlan(s, p, { withProvider: true });
    const orderId = await createOrder(s, p, planId);
    const onB = wsClient(b, p.customer).client;
    const onS = wsClient(s, p.customer).client;
    const watchedOnB = subscribe(onB, ORDER_UPDATED, { id: orderId });
    const mineOnB = subscribe(onB, MY_ORDERS_UPDATED, {}, 'myOrdersUpdated');
    const watchedOnS = subscribe(onS, ORDER_UPDATED, { id: orderId });
    await Promise.all([watchedOnB.count(1), watchedOnS.count(1)]);
    await waitSubscribers(redis, Topic.CUSTOMER_ORDERS_UPDATED, p.ids.customer, 2);
    await until('both instances up', async () => (await readyz(s)).status === 200 && (await readyz(b)).status === 200, 10_000);

    // The publishing connections drop (a proxy, a failover, Redis's idle timeout) and the customer
    // cancels while they reconnect: the cancel commits, its event cannot be published.
    const clients = String(await redis.call('CLIENT', 'LIST')).split('\n');
    for (const id of clients.filter((l) => / name=commerce-pub /.test(l)).map((l) => /\bid=(\d+)/.exec(l)![1])) await redis.call('CLIENT', 'KILL', 'ID', id);
    await until('the publishing connection to drop', () => !s.app.bus.healthy(), 5_000, 2);
    expect(ok(await cancelOrder(s, orderId, p.customer)).cancelOrder).toMatchObject({ status: 'CANCELLED', version: 2 });

    // Every subscriber, on either instance, gets the final state once, in order.
    for (const sub of [watchedOnB, watchedOnS, mineOnB]) {
      await until('the cancelled state', () => sub.events.find((e) => e.version === 2), 10_000);
    }
    expect(watchedOnB.events.map((e) => [e.version, e.status])).toEqual([
      [1, 'PENDING'],
      [2, 'CANCELLED'],
    ]);
    expect(watchedOnS.events.map((e) => [e.version, e.status])).toEqual([
      [1, 'PENDING'],
      [2, 'CANCELLED'],
    ]);
    expect(mineOnB.events.map((e) => [e.version, e.status])).toEqual([[2, 'CANCELLED']]);
    await Promise.all([onB.dispose(), onS.dispose()]);
  } finally {
    await b.stop();
  }
});

test('a Redis that stops answering holds no publish for long: it is given up after a second, reported, and later events flow', async () => {
  const errors: string[] = [];
  const bus = redisBus<Record<Topic, { n: number }>>(`redis://127.0.0.1:${port}`, (e) => errors.push(e.message));
  try {
    const got: number[] = [];
    await bus.listen(Topic.CUSTOMER_ORDERS_UPDATED, 'paused', (p) => got.push(p.n));
    await until('the bus to be up', () => bus.healthy(), 10_000);
    await until('the test connection to be up', () => redis.status === 'ready', 10_000);

    // Redis holds every write command, PUBLISH included, for 5 s: a publish waiting for its answer
    // would wait that long.
    await redis.call('CLIENT', 'PAUSE', '5000', 'WRITE');
    const started = Date.now();
    await bus.publish(Topic.CUSTOMER_ORDERS_UPDATED, 'paused', { n: 1 });
    const waited = Date.now() - started;
    expect(errors).toEqual(['publish to CUSTOMER_ORDERS_UPDATED.paused failed: Command timed out']);
    expect(waited).toBeLessThan(5_000);

    await redis.call('CLIENT', 'UNPAUSE');
    await bus.publish(Topic.CUSTOMER_ORDERS_UPDATED, 'paused', { n: 2 });
    await until('the event published after the pause', () => got.includes(2), 10_000);
    expect(errors).toHaveLength(1);
  } finally {
    await bus.close();
  }
});
