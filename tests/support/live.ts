import { createClient, type Client } from 'graphql-ws';
import type Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { channel, Topic } from '../../src/infra/pubsub';
import { token, type TestServer } from './server';
import { until } from './until';

export const ORDER_FIELDS = `id status version paidAt deliveredAt delivery { status attempts completedAt } total { amount }`;
export const ORDER_UPDATED = `subscription($id: ID!) { orderUpdated(orderId: $id) { ${ORDER_FIELDS} } }`;
export const MY_ORDERS_UPDATED = `subscription { myOrdersUpdated { ${ORDER_FIELDS} } }`;

export interface OrderEvent {
  id: string;
  status: string;
  version: number;
  paidAt: string | null;
  deliveredAt: string | null;
  delivery: { status: string; attempts: number; completedAt: string | null } | null;
  total: { amount: number };
}

/** A graphql-ws client of a test server, with a way to see how its socket closed. */
export function wsClient(s: TestServer | { wsUrl: string }, auth: string | null, opts: { retry?: boolean } = {}) {
  const closes: Array<{ code: number; reason: string }> = [];
  const client: Client = createClient({
    url: s.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: auth ? { authorization: `Bearer ${auth}` } : {},
    retryAttempts: opts.retry ? 20 : 0,
    retryWait: async () => new Promise((r) => setTimeout(r, 200)),
    shouldRetry: () => Boolean(opts.retry),
    on: { closed: (e) => closes.push({ code: (e as { code: number }).code, reason: String((e as { reason: string }).reason) }) },
  });
  return { client, closes };
}

/** One subscription: everything it received, in order. */
export interface Sub {
  events: OrderEvent[];
  errors: Array<{ message: string; extensions?: { code?: string } }>;
  completed: boolean;
  /** The error the sink got (socket closed, protocol error). */
  failure: unknown;
  /** Waits until `n` events arrived. */
  count(n: number, ms?: number): Promise<OrderEvent[]>;
  dispose(): void;
}

export function subscribe(client: Client, query: string, variables: Record<string, unknown> = {}, field = 'orderUpdated'): Sub {
  const sub: Sub = {
    events: [],
    errors: [],
    completed: false,
    failure: undefined,
    count: (n, ms = 20_000) => until(`${n} events`, () => sub.events.length >= n && sub.events, ms, 50),
    dispose: () => undefined,
  };
  sub.dispose = client.subscribe<Record<string, OrderEvent>>(
    { query, variables },
    {
      next: (r) => {
        if (r.errors) sub.errors.push(...(r.errors as Sub['errors']));
        if (r.data?.[field]) sub.events.push(r.data[field]);
      },
      error: (e) => {
        sub.failure = e;
        if (Array.isArray(e)) sub.errors.push(...(e as Sub['errors']));
      },
      complete: () => (sub.completed = true),
    },
  );
  return sub;
}

/** Waits until Redis shows `n` subscribers on the order's channel (subscribing is asynchronous). */
export async function waitSubscribers(redis: Redis, topic: Topic, key: string, n: number, ms = 10_000): Promise<void> {
  await until(`${n} subscriber(s) on ${channel(topic, key)}`, async () => (await numsub(redis, topic, key)) >= n, ms, 50);
}

/**
 * Without Redis: waits until the server's in-process bus has `n` listeners on the channel (each running
 * subscription is one), so a change made next reaches them. Read from graphql-subscriptions' event
 * emitter inside the bus: the in-process bus offers no count of its own.
 */
export async function waitLocalListeners(s: TestServer, topic: Topic, key: string, n: number, ms = 10_000): Promise<void> {
  await until(`${n} in-process listener(s) on ${channel(topic, key)}`, () => localListeners(s, topic, key) >= n, ms, 20);
}

/**
 * Waits until `n` subscriptions listen on the channel a change made next is published to, on whichever
 * bus the server runs: Redis's subscribers when `redis` is given (the server runs with Redis), else the
 * server's in-process listeners.
 */
export async function waitListening(s: TestServer, redis: Redis | undefined, topic: Topic, key: string, n: number): Promise<void> {
  if (redis) await waitSubscribers(redis, topic, key, n);
  else await waitLocalListeners(s, topic, key, n);
}

/** How many listeners the server's in-process bus has on the channel now (each running subscription is one). */
export function localListeners(s: TestServer, topic: Topic, key: string): number {
  const engine = (s.app.bus as unknown as { engine?: { ee?: { listenerCount(name: string): number } } }).engine;
  if (!engine?.ee) throw new Error('localListeners: the server does not run the in-process bus');
  return engine.ee.listenerCount(channel(topic, key));
}

export async function numsub(redis: Redis, topic: Topic, key: string): Promise<number> {
  const [, count] = (await redis.pubsub('NUMSUB', channel(topic, key))) as [string, number];
  return Number(count);
}

/** A customer, a provider and an admin with fresh ids, and their tokens. */
export async function people() {
  const tag = randomUUID().slice(0, 8);
  const ids = { customer: `cust-${tag}`, provider: `prov-${tag}`, admin: `admin-${tag}`, other: `other-${tag}` };
  return {
    ids,
    customer: await token(ids.customer),
    provider: await token(ids.provider, 'provider'),
    admin: await token(ids.admin, 'admin'),
    other: await token(ids.other),
  };
}

type People = Awaited<ReturnType<typeof people>>;

/** Asserts a GraphQL result has no errors and returns its data. */
 
export function ok(r: { data?: unknown; errors?: unknown[] }): any {
  if (r.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(r.errors)}`);
  return r.data;
}

/** Creates a plan (with the provider when `withProvider`). The provider must exist: it makes a request first. */
export async function createPlan(s: TestServer, p: People, opts: { price?: number; durationDays?: number | null; withProvider?: boolean } = {}): Promise<string> {
  if (opts.withProvider) ok(await s.gql(`{ me { id } }`, {}, p.provider));
  const input: Record<string, unknown> = { name: `Plan ${randomUUID().slice(0, 6)}`, price: opts.price ?? 10_000 };
  if (opts.durationDays !== null) input.durationDays = opts.durationDays ?? 30;
  if (opts.withProvider) input.providerId = p.ids.provider;
  const r = ok(await s.gql(`mutation($input: CreatePlanInput!) { createPlan(input: $input) { id } }`, { input }, p.admin));
  return r.createPlan.id;
}

/** Gives the customer money, creates an order for the plan and returns its id (PENDING). */
export async function createOrder(s: TestServer, p: People, planId: string, auth = p.customer, customerId = p.ids.customer): Promise<string> {
  ok(await s.gql(`{ me { id } }`, {}, auth));
  ok(
    await s.gql(
      `mutation($c: ID!, $a: Int!, $r: String!) { creditWallet(customerId: $c, amount: $a, reference: $r) { balance { amount } } }`,
      { c: customerId, a: 1_000_000, r: `ref-${randomUUID()}` },
      p.admin,
    ),
  );
  const r = ok(await s.gql(`mutation($input: CreateOrderInput!) { createOrder(input: $input) { id status version } }`, { input: { planId } }, auth));
  return r.createOrder.id;
}

export async function payWithWallet(s: TestServer, orderId: string, auth: string) {
  return s.gql(`mutation($id: ID!) { payWithWallet(orderId: $id) { ${ORDER_FIELDS} } }`, { id: orderId }, auth);
}

export async function setDeliveryStatus(s: TestServer, orderId: string, status: string, auth: string) {
  return s.gql(`mutation($id: ID!, $s: DeliveryStatus!) { setDeliveryStatus(orderId: $id, status: $s) { ${ORDER_FIELDS} } }`, { id: orderId, s: status }, auth);
}

/** Cancels an unpaid order (its customer or an admin): a change every watcher of the order receives. */
export async function cancelOrder(s: TestServer, orderId: string, auth: string) {
  return s.gql(`mutation($id: ID!) { cancelOrder(orderId: $id) { id version status } }`, { id: orderId }, auth);
}

/**
 * A new order of a new plan of `p`'s provider (delivered by hand, so nothing but the test changes it),
 * watched by its customer with `orderUpdated` on `s`, once the first state has arrived (and, with
 * `redis`, once Redis shows the subscription).
 */
export async function watchedOrder(s: TestServer, redis?: Redis | null) {
  const p = await people();
  const planId = await createPlan(s, p, { withProvider: true });
  const orderId = await createOrder(s, p, planId);
  const { client } = wsClient(s, p.customer);
  const sub = subscribe(client, ORDER_UPDATED, { id: orderId });
  await sub.count(1);
  if (redis) await waitSubscribers(redis, Topic.CUSTOMER_ORDERS_UPDATED, p.ids.customer, 1);
  return { p, planId, orderId, client, sub };
}

/** Versions strictly increasing by one from the first. */
export function expectConsecutive(events: OrderEvent[]): void {
  const versions = events.map((e) => e.version);
  expect(versions).toEqual(versions.map((_, i) => versions[0] + i));
}
