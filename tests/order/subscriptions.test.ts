import Redis from 'ioredis';
import { MAX_SUBSCRIPTIONS_PER_CONNECTION } from '../../src/http/ws';
import { Topic } from '../../src/infra/pubsub';
import { Role } from '../../src/shared/caller';
import { readTestEnv } from '../support/env';
import {
  cancelOrder,
  createOrder,
  createPlan,
  MY_ORDERS_UPDATED,
  numsub,
  ok,
  ORDER_UPDATED,
  payWithWallet,
  people,
  setDeliveryStatus,
  subscribe,
  waitListening,
  waitSubscribers,
  watchedOrder,
  wsClient,
} from '../support/live';
import { codeOf, startTestServer, token, type TestServer } from '../support/server';
import { until } from '../support/until';

const redisUrl = readTestEnv().redisUrl;
const describeRedis = redisUrl ? describe : describe.skip;

let s: TestServer;
let redis: Redis | undefined;
beforeAll(async () => {
  s = await startTestServer(redisUrl ? { REDIS_URL: redisUrl } : {});
  if (redisUrl) redis = new Redis(redisUrl);
});
afterAll(async () => {
  await s.stop();
  redis?.disconnect();
});

test('a failed mutation publishes nothing: the subscriber sees the snapshot, then only the change that committed', async () => {
  const p = await people();
  const planId = await createPlan(s, p, { withProvider: true });
  ok(await s.gql(`{ me { id } }`, {}, p.other));
  const orderId = ok(await s.gql(`mutation($i: CreateOrderInput!) { createOrder(input: $i) { id } }`, { i: { planId } }, p.other)).createOrder.id;
  const { client } = wsClient(s, p.other);
  const sub = subscribe(client, ORDER_UPDATED, { id: orderId });
  await sub.count(1);
  if (redis) await waitSubscribers(redis, Topic.CUSTOMER_ORDERS_UPDATED, p.ids.other, 1);

  // The wallet is empty: the payment rolls back, and so does its event.
  expect(codeOf(await payWithWallet(s, orderId, p.other))).toBe('INSUFFICIENT_BALANCE');
  // Not paid: there is no delivery to move.
  expect(codeOf(await setDeliveryStatus(s, orderId, 'IN_PROGRESS', p.provider))).toBe('INVALID_STATUS_TRANSITION');
  // A change that commits after them: anything they had sent would have arrived before it.
  ok(await cancelOrder(s, orderId, p.other));
  await sub.count(2);
  await client.dispose();
  expect(sub.events.map((e) => [e.version, e.status])).toEqual([
    [1, 'PENDING'],
    [2, 'CANCELLED'],
  ]);
});

test('myOrdersUpdated sends a change committed once it listens, even when the event arrives after its read of the orders', async () => {
  const p = await people();
  const planId = await createPlan(s, p, { withProvider: true });
  const orderId = await createOrder(s, p, planId);
  // The way to the subscriber is slow (50 ms: a Redis hop, a busy instance publishing), and the
  // customer cancels the moment the subscription listens, before it reads the customer's orders.
  type Transport = { listen: (...args: unknown[]) => Promise<unknown>; publish: (...args: unknown[]) => Promise<void> };
  const bus = s.app.bus as unknown as Transport;
  const { listen, publish } = bus;
  let cancelled = false;
  bus.publish = async (...args) => {
    await new Promise((r) => setTimeout(r, 50));
    return publish.apply(s.app.bus, args);
  };
  bus.listen = async (...args) => {
    const stop = await listen.apply(s.app.bus, args);
    if (!cancelled) {
      cancelled = true;
      ok(await cancelOrder(s, orderId, p.customer));
    }
    return stop;
  };
  try {
    const { client } = wsClient(s, p.customer);
    const mine = subscribe(client, MY_ORDERS_UPDATED, {}, 'myOrdersUpdated');
    await until('the cancelled state', () => mine.events.find((e) => e.version === 2), 5_000);
    await client.dispose();
    expect(mine.events.map((e) => [e.version, e.status])).toEqual([[2, 'CANCELLED']]);
  } finally {
    bus.listen = listen;
    bus.publish = publish;
  }
});

test('orderUpdated on an order past its first version has its current state ready to send the moment it starts', async () => {
  const p = await people();
  const planId = await createPlan(s, p, { withProvider: true });
  const orderId = await createOrder(s, p, planId);
  ok(await payWithWallet(s, orderId, p.customer));
  const feed = await s.app.services.live.watchOrder(() => s.app.orm.em.fork(), { sub: p.ids.customer, role: Role.CUSTOMER }, orderId);
  try {
    // Queued, not held back as a change whose earlier versions were still to come.
    const first = await Promise.race([feed.next(), new Promise((r) => setImmediate(() => r('not ready')))]);
    expect(first).toMatchObject({ done: false, value: { id: orderId, version: 2, status: 'PAID' } });
  } finally {
    await feed.return();
  }
});

describe('a change that arrives ahead of the one before it (another instance published a moment late)', () => {
  type Transport = { publish: (topic: unknown, key: unknown, payload: { id: string; version: number }) => Promise<void> };
  /**
   * A watched order paid, then moved IN_PROGRESS by its provider, with the event of its version 2
   * published `late` ms late, or never (`null`): what its subscriber got once `count` events arrived.
   */
  async function eventsWithVersion2Late(late: number | null, count: number) {
    const { p, orderId, client, sub } = await watchedOrder(s, redisUrl ? redis : null);
    const bus = s.app.bus as unknown as Transport;
    const { publish } = bus;
    bus.publish = async (topic, key, payload) => {
      if (payload.id === orderId && payload.version === 2) {
        if (late === null) return;
        await new Promise((r) => setTimeout(r, late));
      }
      return publish.call(s.app.bus, topic, key, payload);
    };
    try {
      ok(await payWithWallet(s, orderId, p.customer));
      ok(await setDeliveryStatus(s, orderId, 'IN_PROGRESS', p.provider));
      await sub.count(count);
    } finally {
      bus.publish = publish;
      await client.dispose();
    }
    return sub.events.map((e) => [e.version, e.status, e.delivery?.status ?? null]);
  }

  test('waits for it: the subscriber gets every version, in order', async () => {
    expect(await eventsWithVersion2Late(150, 3)).toEqual([
      [1, 'PENDING', null],
      [2, 'PAID', 'NEW'],
      [3, 'PAID', 'IN_PROGRESS'],
    ]);
  });

  test("myOrdersUpdated: a new order's first change arriving after its second is waited for too", async () => {
    const p = await people();
    const planId = await createPlan(s, p, { withProvider: true });
    const before = await createOrder(s, p, planId);
    const { client } = wsClient(s, p.customer);
    const mine = subscribe(client, MY_ORDERS_UPDATED, {}, 'myOrdersUpdated');
    // The subscription is set up once a change of an order it knew from the start reaches it.
    await waitListening(s, redis, Topic.CUSTOMER_ORDERS_UPDATED, p.ids.customer, 1);
    ok(await cancelOrder(s, before, p.customer));
    await until('the change of the order it knew', () => mine.events.some((e) => e.id === before));

    // A new order's creation is published 150 ms late (by another instance, say); its payment at once.
    const bus = s.app.bus as unknown as Transport;
    const { publish } = bus;
    bus.publish = async (topic, key, payload) => {
      if (payload.id !== before && payload.version === 1) await new Promise((r) => setTimeout(r, 150));
      return publish.call(s.app.bus, topic, key, payload);
    };
    try {
      const orderId = await createOrder(s, p, planId);
      ok(await payWithWallet(s, orderId, p.customer));
      await until('both changes of the new order', () => mine.events.filter((e) => e.id === orderId).length === 2, 3_000).catch(() => undefined);
      expect(mine.events.filter((e) => e.id === orderId).map((e) => [e.version, e.status])).toEqual([
        [1, 'PENDING'],
        [2, 'PAID'],
      ]);
    } finally {
      bus.publish = publish;
      await client.dispose();
    }
  });

  test('and when it never comes, the later change goes out after a moment', async () => {
    expect(await eventsWithVersion2Late(null, 2)).toEqual([
      [1, 'PENDING', null],
      [3, 'PAID', 'IN_PROGRESS'],
    ]);
  });
});

test("a subscriber to another customer's order gets an error, never data; the plan's provider and admins may watch", async () => {
  const p = await people();
  const planId = await createPlan(s, p, { withProvider: true });
  const orderId = await createOrder(s, p, planId);

  const other = wsClient(s, p.other);
  const denied = subscribe(other.client, ORDER_UPDATED, { id: orderId });
  await until('the refusal of the other customer’s subscription', () => denied.completed || denied.errors.length > 0);
  expect(denied.events).toEqual([]);
  expect(denied.errors[0].extensions?.code).toBe('FORBIDDEN');

  const missing = subscribe(other.client, ORDER_UPDATED, { id: '00000000-0000-4000-8000-000000000000' });
  const malformed = subscribe(other.client, ORDER_UPDATED, { id: 'nope' });
  await until('the refusals of an unknown and a malformed order id', () => missing.errors.length > 0 && malformed.errors.length > 0);
  expect([missing.errors[0].extensions?.code, malformed.errors[0].extensions?.code]).toEqual(['NOT_FOUND', 'NOT_FOUND']);
  expect([...missing.events, ...malformed.events]).toEqual([]);

  // The customer's myOrdersUpdated is theirs alone: the other customer's feed stays empty.
  const others = subscribe(other.client, MY_ORDERS_UPDATED, {}, 'myOrdersUpdated');
  const owner = wsClient(s, p.customer);
  const mine = subscribe(owner.client, MY_ORDERS_UPDATED, {}, 'myOrdersUpdated');
  const provider = wsClient(s, p.provider);
  const byProvider = subscribe(provider.client, ORDER_UPDATED, { id: orderId });
  const admin = wsClient(s, p.admin);
  const byAdmin = subscribe(admin.client, ORDER_UPDATED, { id: orderId });
  await byProvider.count(1);
  await byAdmin.count(1);
  await waitListening(s, redis, Topic.CUSTOMER_ORDERS_UPDATED, p.ids.customer, 1);
  await waitListening(s, redis, Topic.CUSTOMER_ORDERS_UPDATED, p.ids.other, 1);

  ok(await payWithWallet(s, orderId, p.customer));
  // Later changes that must arrive after whatever the payment sent: the delivery starts (the owner's
  // feed and the order's watchers), and the other customer orders something (their own feed).
  ok(await setDeliveryStatus(s, orderId, 'IN_PROGRESS', p.provider));
  const othersOrder = await createOrder(s, p, planId, p.other, p.ids.other);
  await mine.count(2);
  await others.count(1);
  await byProvider.count(3);
  await byAdmin.count(3);
  expect(mine.events.map((e) => [e.id, e.status, e.delivery?.status])).toEqual([
    [orderId, 'PAID', 'NEW'],
    [orderId, 'PAID', 'IN_PROGRESS'],
  ]);
  expect(others.events.map((e) => [e.id, e.status])).toEqual([[othersOrder, 'PENDING']]);
  expect(byProvider.events.map((e) => e.status)).toEqual(['PENDING', 'PAID', 'PAID']);
  expect(byAdmin.events.map((e) => e.version)).toEqual([1, 2, 3]);
  await Promise.all([other, owner, provider, admin].map(async (c) => c.client.dispose()));
});

test('variables that do not coerce are BAD_USER_INPUT naming the variable over the socket, as over HTTP', async () => {
  const p = await people();
  const { client } = wsClient(s, p.customer);
  const wrongType = subscribe(client, ORDER_UPDATED, { id: { a: 1 } });
  const missing = subscribe(client, ORDER_UPDATED, {});
  const query = subscribe(client, `query($id: ID!) { order(id: $id) { id } }`, { id: [1, 2] }, 'order');
  await until('the three refusals', () => wrongType.errors.length > 0 && missing.errors.length > 0 && query.errors.length > 0);
  await client.dispose();
  for (const [sub, variable] of [[wrongType, '$id'], [missing, '$id'], [query, '$id']] as const) {
    expect(sub.events).toEqual([]);
    expect(sub.errors).toEqual([expect.objectContaining({ message: expect.stringContaining(`Variable "${variable}"`), extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) })]);
  }
  const overHttp = await s.gql(`query($id: ID!) { order(id: $id) { id } }`, { id: [1, 2] }, p.customer);
  expect(overHttp.errors?.[0]).toMatchObject({ message: query.errors[0].message, extensions: { code: 'BAD_USER_INPUT' } });
});

test('a subscription sent over HTTP is BAD_REQUEST (400), with a token or without, and runs nothing', async () => {
  const p = await people();
  for (const auth of [p.customer, undefined]) {
    const r = await s.gql(`subscription { myOrdersUpdated { id } }`, {}, auth);
    expect(r.status).toBe(400);
    expect(r.data ?? null).toBeNull();
    expect(r.errors).toEqual([expect.objectContaining({ message: expect.stringContaining('WebSocket'), extensions: expect.objectContaining({ code: 'BAD_REQUEST' }) })]);
  }
});

test('a socket with a bad token is closed with 4403, one without a token with 4401', async () => {
  const bad = wsClient(s, await token('x', 'customer', { secret: 'another-secret-0123456789abcdefgh' }));
  const badSub = subscribe(bad.client, MY_ORDERS_UPDATED, {}, 'myOrdersUpdated');
  await until('the socket with a bad token to close', () => bad.closes.length > 0);
  expect(bad.closes[0].code).toBe(4403);
  expect(badSub.events).toEqual([]);

  const none = wsClient(s, null);
  const noneSub = subscribe(none.client, MY_ORDERS_UPDATED, {}, 'myOrdersUpdated');
  await until('the socket without a token to close', () => none.closes.length > 0);
  expect(none.closes[0].code).toBe(4401);
  expect(noneSub.events).toEqual([]);
  await bad.client.dispose();
  await none.client.dispose();
});

test(`one connection runs at most ${MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions; the next is refused alone`, async () => {
  const p = await people();
  const orderId = await createOrder(s, p, await createPlan(s, p));
  const { client, closes } = wsClient(s, p.customer);
  const subs = Array.from({ length: MAX_SUBSCRIPTIONS_PER_CONNECTION }, () => subscribe(client, ORDER_UPDATED, { id: orderId }));
  // Each has been accepted once the order's current state reached it.
  await Promise.all(subs.map((x) => x.count(1)));
  expect(subs.filter((x) => x.completed || x.errors.length > 0)).toEqual([]);
  const extra = subscribe(client, MY_ORDERS_UPDATED, {}, 'myOrdersUpdated');
  await until('the refusal of one subscription too many', () => extra.errors.length > 0);
  expect(extra.errors[0].extensions?.code).toBe('RATE_LIMITED');
  expect(closes).toEqual([]);
  // Completing one frees a place: once the server has seen the completion, a new subscription runs
  // (the order's current state arrives); one sent before that is refused, and is tried again.
  subs[0].dispose();
  const again = await until('a subscription running in the freed place', async () => {
    const next = subscribe(client, ORDER_UPDATED, { id: orderId });
    await until('an answer to the new subscription', () => next.events.length > 0 || next.errors.length > 0);
    return next.events.length > 0 && next;
  });
  expect([again.events[0].id, again.errors]).toEqual([orderId, []]);
  expect(closes).toEqual([]);
  await client.dispose();
});

describeRedis('with Redis', () => {
  test('50 subscribe/complete cycles leave no listener behind (PUBSUB NUMSUB is 0)', async () => {
    const p = await people();
    const planId = await createPlan(s, p);
    const orderId = await createOrder(s, p, planId);
    const { client } = wsClient(s, p.customer);
    for (let i = 0; i < 50; i++) {
      const sub = subscribe(client, ORDER_UPDATED, { id: orderId });
      await sub.count(1);
      sub.dispose();
    }
    // And some completed before their snapshot was even read.
    for (let i = 0; i < 10; i++) subscribe(client, ORDER_UPDATED, { id: orderId }).dispose();
    await until('no subscriber left', async () => (await numsub(redis!, Topic.CUSTOMER_ORDERS_UPDATED, p.ids.customer)) === 0, 5_000);
    // A socket that goes away takes its subscriptions with it.
    const gone = wsClient(s, p.customer);
    const subs = Array.from({ length: 5 }, () => subscribe(gone.client, ORDER_UPDATED, { id: orderId }));
    await Promise.all(subs.map((x) => x.count(1)));
    expect(await numsub(redis!, Topic.CUSTOMER_ORDERS_UPDATED, p.ids.customer)).toBe(1);
    await gone.client.dispose();
    await until('no subscriber left after disconnect', async () => (await numsub(redis!, Topic.CUSTOMER_ORDERS_UPDATED, p.ids.customer)) === 0, 5_000);
    await client.dispose();
  });
});

test('a server that stops closes its sockets with 1001 (going away), so clients reconnect', async () => {
  const t = await startTestServer();
  const p = await people();
  const { client, closes } = wsClient(t, p.customer);
  const sub = subscribe(client, MY_ORDERS_UPDATED, {}, 'myOrdersUpdated');
  await new Promise<void>((resolve, reject) => client.subscribe({ query: '{ me { id } }' }, { next: () => undefined, error: reject, complete: resolve }));
  await t.stop();
  await until('the socket to close', () => closes.length > 0);
  expect(closes[0].code).toBe(1001);
  void sub;
  await client.dispose();
});
