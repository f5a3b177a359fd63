/**
 * Measures the time from a committed order change to its event at a graphql-ws subscriber, on one
 * instance and across two instances through Redis. Both instances run in this process so one clock
 * times both ends: the start is when the change's after-commit work begins (right after COMMIT).
 *
 *   (REDIS_URL=none: the in-process bus, one instance.)
 *   DATABASE_ADMIN_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379 npx tsx scripts/live-latency.ts [changes]
 */
import 'reflect-metadata';
import { createClient } from 'graphql-ws';
import { SignJWT } from 'jose';
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import WebSocket from 'ws';
import { startApp, type RunningApp } from '../src/app';
import { loadConfig } from '../src/config';
import type { OrderSnapshot } from '../src/modules/order/order.snapshot';

const SECRET = 'latency-secret-0123456789abcdefgh';
const adminUrl = process.env.DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
// REDIS_URL=none measures the in-process bus on one instance only.
const redisUrl = process.env.REDIS_URL === 'none' ? '' : (process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const changes = Number(process.argv[2] ?? 200);

const tokenFor = (sub: string, role: string) =>
  new SignJWT({ role }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));

async function gql<T = unknown>(app: RunningApp, query: string, variables: Record<string, unknown>, auth: string): Promise<T> {
  const res = await fetch(`${app.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${auth}` }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: T; errors?: unknown[] };
  if (body.errors || body.data === undefined) throw new Error(JSON.stringify(body.errors ?? body));
  return body.data;
}

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function main(): Promise<void> {
  const db = `live_latency_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${db}`);
  const url = new URL(adminUrl);
  url.pathname = `/${db}`;
  const env = { NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', DATABASE_URL: url.toString(), JWT_SECRET: SECRET, LOG_LEVEL: 'silent', REDIS_URL: redisUrl, MUTATION_RATE_LIMIT: '100000' };
  const a = await startApp(loadConfig(env), url.toString());
  const b = await startApp(loadConfig(env), url.toString(), { migrate: false });

  // When each version's after-commit work began, on either instance.
  const committedAt = new Map<string, number>();
  for (const app of [a, b]) {
    const events = app.services.orderEvents;
    const original = events.afterCommit.bind(events);
    events.afterCommit = (after, snap) => {
      after.add(() => void committedAt.set(`${snap.id}:${snap.version}`, performance.now()));
      original(after, snap);
    };
  }

  const tag = randomUUID().slice(0, 8);
  const [customer, provider, adminTok] = await Promise.all([tokenFor(`c-${tag}`, 'customer'), tokenFor(`p-${tag}`, 'provider'), tokenFor(`a-${tag}`, 'admin')]);
  await gql(a, `{ me { id } }`, {}, provider);
  await gql(a, `{ me { id } }`, {}, customer);
  const plan = (await gql<{ createPlan: { id: string } }>(a, `mutation($i: CreatePlanInput!) { createPlan(input: $i) { id } }`, { i: { name: 'Latency', price: 1000, providerId: `p-${tag}` } }, adminTok)).createPlan.id;
  await gql(a, `mutation($c: ID!) { creditWallet(customerId: $c, amount: 100000, reference: "r-${tag}") { balance { amount } } }`, { c: `c-${tag}` }, adminTok);

  const runs = redisUrl
    ? ([['one instance (Redis bus)', a, a], ['across two instances (Redis)', a, b]] as const)
    : ([['one instance (in-process bus)', a, a]] as const);
  for (const [label, subscribeOn, changeOn] of runs) {
    const orderId = (await gql<{ createOrder: { id: string } }>(a, `mutation($i: CreateOrderInput!) { createOrder(input: $i) { id } }`, { i: { planId: plan } }, customer)).createOrder.id;
    await gql(a, `mutation($id: ID!) { payWithWallet(orderId: $id) { id } }`, { id: orderId }, customer);
    const client = createClient({ url: `${subscribeOn.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${customer}` } });
    const received = new Map<number, number>();
    let wake: (() => void) | null = null;
    client.subscribe<{ orderUpdated: OrderSnapshot }>(
      { query: `subscription($id: ID!) { orderUpdated(orderId: $id) { version } }`, variables: { id: orderId } },
      { next: (r) => (received.set(r.data!.orderUpdated.version, performance.now()), wake?.()), error: (e) => console.error(e), complete: () => undefined },
    );
    while (!received.size) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 300));
    let next = 'IN_PROGRESS';
    const lat: number[] = [];
    for (let i = 0; i < changes; i++) {
      const v = (await gql<{ setDeliveryStatus: { version: number } }>(changeOn, `mutation($id: ID!, $s: DeliveryStatus!) { setDeliveryStatus(orderId: $id, status: $s) { version } }`, { id: orderId, s: next }, provider)).setDeliveryStatus.version;
      next = next === 'REVIEWING' ? 'IN_PROGRESS' : 'REVIEWING';
      while (!received.has(v)) await new Promise<void>((r) => (wake = r));
      lat.push(received.get(v)! - committedAt.get(`${orderId}:${v}`)!);
    }
    await client.dispose();
    lat.sort((x, y) => x - y);
    console.log(`${label}: ${lat.length} changes, commit → event median ${pct(lat, 50).toFixed(2)} ms, p99 ${pct(lat, 99).toFixed(2)} ms, max ${lat[lat.length - 1].toFixed(2)} ms`);
  }

  await b.stop();
  await a.stop();
  await admin.query(`drop database ${db} with (force)`);
  await admin.end();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
