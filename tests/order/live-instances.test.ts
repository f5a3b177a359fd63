import Redis from 'ioredis';
import { Topic } from '../../src/infra/pubsub';
import { readTestEnv } from '../support/env';
import { cancelOrder, createOrder, createPlan, ok, ORDER_UPDATED, payWithWallet, people, setDeliveryStatus, subscribe, waitSubscribers, watchedOrder, wsClient, type Sub } from '../support/live';
import { startTestServer, type TestServer } from '../support/server';

const redisUrl = readTestEnv().redisUrl;
const describeRedis = redisUrl ? describe : describe.skip;

describeRedis('two instances on one database and Redis', () => {
  let a: TestServer;
  let b: TestServer;
  let redis: Redis;
  beforeAll(async () => {
    a = await startTestServer({ REDIS_URL: redisUrl! });
    b = await startTestServer({ REDIS_URL: redisUrl! }, { databaseUrl: a.databaseUrl });
    redis = new Redis(redisUrl!);
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    redis?.disconnect();
  });

  test('a change made through one instance reaches a subscriber on the other', async () => {
    const { p, orderId, client, sub } = await watchedOrder(a, redis);

    ok(await payWithWallet(b, orderId, p.customer));
    ok(await setDeliveryStatus(b, orderId, 'IN_PROGRESS', p.provider));
    await sub.count(3);
    await client.dispose();
    expect(sub.events.map((e) => [e.version, e.status, e.delivery?.status ?? null])).toEqual([
      [1, 'PENDING', null],
      [2, 'PAID', 'NEW'],
      [3, 'PAID', 'IN_PROGRESS'],
    ]);
  });

  test('100 subscribers on one order, on both instances, all get every version exactly once, in order', async () => {
    const p = await people();
    const planId = await createPlan(a, p);
    const orderId = await createOrder(a, p, planId);
    // 10 sockets (5 per instance) with 10 subscriptions each.
    const clients = Array.from({ length: 10 }, (_, i) => wsClient(i % 2 ? b : a, p.customer).client);
    const subs: Sub[] = clients.flatMap((c) => Array.from({ length: 10 }, () => subscribe(c, ORDER_UPDATED, { id: orderId })));
    await Promise.all(subs.map((x) => x.count(1)));
    await waitSubscribers(redis, Topic.CUSTOMER_ORDERS_UPDATED, p.ids.customer, 2);

    // Paid on b; delivered by whichever instance's worker takes the job.
    ok(await payWithWallet(b, orderId, p.customer));
    await Promise.all(subs.map((x) => x.count(4)));
    // A later change, of another order watched on every socket: anything sent twice for the first order
    // would have arrived before it.
    const laterId = await createOrder(a, p, planId);
    const later = clients.map((c) => subscribe(c, ORDER_UPDATED, { id: laterId }));
    await Promise.all(later.map((x) => x.count(1)));
    await waitSubscribers(redis, Topic.CUSTOMER_ORDERS_UPDATED, p.ids.customer, 2);
    ok(await cancelOrder(b, laterId, p.customer));
    await Promise.all(later.map((x) => x.count(2)));
    await Promise.all(clients.map(async (c) => c.dispose()));
    for (const x of subs) {
      expect(x.events.map((e) => e.version)).toEqual([1, 2, 3, 4]);
      expect(x.events[3]).toMatchObject({ status: 'DELIVERED', delivery: { status: 'COMPLETED' } });
      expect(x.errors).toEqual([]);
    }
  });
});
