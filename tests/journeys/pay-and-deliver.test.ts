import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { splitRelease } from '../../src/shared/money';
import {
  cancelOrder,
  createOrder,
  createPlan,
  expectConsecutive,
  ok,
  ORDER_UPDATED,
  payWithWallet,
  people,
  setDeliveryStatus,
  subscribe,
  wsClient,
} from '../support/live';
import { codeOf, startTestServer, type TestServer } from '../support/server';
import { until } from '../support/until';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.stop());

const SERVICES = `{ me { services { plan { id } startsAt endsAt } } }`;

test('wallet payment, then automatic delivery: a subscriber sees every version in order, snapshot first', async () => {
  const p = await people();
  const planId = await createPlan(s, p, { price: 12_345, durationDays: 30 });
  const orderId = await createOrder(s, p, planId);
  const { client } = wsClient(s, p.customer);
  const sub = subscribe(client, ORDER_UPDATED, { id: orderId });
  await sub.count(1);
  expect(sub.events[0]).toMatchObject({ id: orderId, status: 'PENDING', version: 1, delivery: null });

  ok(await payWithWallet(s, orderId, p.customer));
  const events = await sub.count(4);
  await client.dispose();

  expect(events.map((e) => [e.status, e.delivery?.status ?? null])).toEqual([
    ['PENDING', null],
    ['PAID', 'NEW'],
    ['PAID', 'IN_PROGRESS'],
    ['DELIVERED', 'COMPLETED'],
  ]);
  expectConsecutive(events);
  expect(events[2].delivery!.attempts).toBe(1);
  expect(events[3].deliveredAt).not.toBeNull();
  expect(events[3].delivery!.completedAt).not.toBeNull();

  // The service period started now, for 30 days.
  const me = ok(await s.gql(SERVICES, {}, p.customer));
  expect(me.me.services).toHaveLength(1);
  const period = me.me.services[0];
  expect(period.plan.id).toBe(planId);
  const days = (Date.parse(period.endsAt) - Date.parse(period.startsAt)) / 86_400_000;
  expect(days).toBeCloseTo(30, 3);

  // The escrow was released: nothing left for the order, tax and profit got the split (no provider: all to profit).
  const rows = await s.sql<{ account: string; s: string }>(
    `select account, sum(amount)::text as s from ledger_entry where order_id = $1 and kind in ('RELEASE', 'PAYOUT') group by account`,
    [orderId],
  );
  const byAccount = Object.fromEntries(rows.map((r) => [r.account, Number(r.s)]));
  const order = (await s.sql<{ tax: number; total: number }>(`select tax, total from "order" where id = $1`, [orderId]))[0];
  const expected = splitRelease(order.total, order.tax, 2000, 1500);
  expect(byAccount).toEqual({ ESCROW: -order.total, TAX: expected.tax, PROFIT: expected.profit + expected.provider });
  const [{ s: escrow }] = await s.sql(`select coalesce(sum(amount), 0)::text as s from ledger_entry where account = 'ESCROW' and order_id = $1`, [orderId]);
  expect(Number(escrow)).toBe(0);
});

test('the delivery job run again after completion (a worker that died before marking it done) changes nothing', async () => {
  const p = await people();
  const planId = await createPlan(s, p, { durationDays: 30 });
  const orderId = await createOrder(s, p, planId);
  ok(await payWithWallet(s, orderId, p.customer));
  await until('the order to be delivered', async () => (await s.sql(`select 1 from "order" where id = $1 and status = 'DELIVERED'`, [orderId])).length > 0);
  const state = async () => ({
    order: (await s.sql(`select version, delivered_at from "order" where id = $1`, [orderId]))[0],
    delivery: (await s.sql(`select status, attempts, completed_at from delivery where order_id = $1`, [orderId]))[0],
    period: (await s.sql(`select starts_at, ends_at from service_period where customer_id = $1`, [p.ids.customer]))[0],
    entries: (await s.sql(`select count(*)::int as n from ledger_entry where order_id = $1`, [orderId]))[0].n,
  });
  const before = await state();
  await s.sql(`select graphile_worker.add_job('deliver_order', json_build_object('orderId', $1::text), job_key => 'rerun:' || $1)`, [orderId]);
  await until('the re-run job to finish', async () => (await s.sql(`select 1 from graphile_worker.jobs where key = 'rerun:' || $1`, [orderId])).length === 0, 10_000);
  expect(await state()).toEqual(before);
});

test('racing moves of one delivery: exactly one wins, the others change nothing', async () => {
  const p = await people();
  const planId = await createPlan(s, p, { withProvider: true });
  const orderId = await createOrder(s, p, planId);
  const paid = ok(await payWithWallet(s, orderId, p.customer)).payWithWallet;
  const results = await Promise.all(Array.from({ length: 6 }, () => setDeliveryStatus(s, orderId, 'IN_PROGRESS', p.provider)));
  expect(results.filter((r) => !r.errors).length).toBe(1);
  expect(results.filter((r) => codeOf(r) === 'INVALID_STATUS_TRANSITION').length).toBe(5);
  const [row] = await s.sql(`select o.version, d.status from "order" o join delivery d on d.order_id = o.id where o.id = $1`, [orderId]);
  expect(row).toEqual({ version: paid.version + 1, status: 'IN_PROGRESS' });
});

test('a second delivery of the same plan extends the service period from its current end', async () => {
  const p = await people();
  const planId = await createPlan(s, p, { durationDays: 10 });
  for (let i = 0; i < 2; i++) {
    const orderId = await createOrder(s, p, planId);
    ok(await payWithWallet(s, orderId, p.customer));
    await until(`order ${i + 1} to be delivered`, async () => (await s.sql(`select 1 from "order" where id = $1 and status = 'DELIVERED'`, [orderId])).length > 0);
  }
  const period = ok(await s.gql(SERVICES, {}, p.customer)).me.services[0];
  expect((Date.parse(period.endsAt) - Date.parse(period.startsAt)) / 86_400_000).toBeCloseTo(20, 2);
});

test('a one-time plan gives a service without an end', async () => {
  const p = await people();
  const planId = await createPlan(s, p, { durationDays: null });
  const orderId = await createOrder(s, p, planId);
  ok(await payWithWallet(s, orderId, p.customer));
  await until('the order to be delivered', async () => (await s.sql(`select 1 from "order" where id = $1 and status = 'DELIVERED'`, [orderId])).length > 0);
  const period = ok(await s.gql(SERVICES, {}, p.customer)).me.services[0];
  expect(period).toMatchObject({ plan: { id: planId }, endsAt: null });
});

test('provider journey: NEW → IN_PROGRESS → REVIEWING → COMPLETED, the provider is paid exactly its share', async () => {
  const p = await people();
  const planId = await createPlan(s, p, { price: 9_999, withProvider: true });
  const orderId = await createOrder(s, p, planId);
  const { client } = wsClient(s, p.provider);
  const sub = subscribe(client, ORDER_UPDATED, { id: orderId });
  await sub.count(1);
  ok(await payWithWallet(s, orderId, p.customer));
  await sub.count(2);

  const mine = ok(await s.gql(`query($s: DeliveryStatus) { myDeliveries(status: $s) { id delivery { status } } }`, { s: 'NEW' }, p.provider));
  expect(mine.myDeliveries.map((o: { id: string }) => o.id)).toEqual([orderId]);
  expect(ok(await s.gql(`{ myDeliveries(status: IN_PROGRESS) { id } }`, {}, p.provider)).myDeliveries).toEqual([]);
  expect(ok(await s.gql(`{ myDeliveries { id } }`, {}, p.other)).myDeliveries).toEqual([]);

  // Skipping the review is not a move of this lifecycle, and changes nothing.
  expect(codeOf(await setDeliveryStatus(s, orderId, 'COMPLETED', p.provider))).toBe('INVALID_STATUS_TRANSITION');
  // The customer and another provider may not move it.
  expect(codeOf(await setDeliveryStatus(s, orderId, 'IN_PROGRESS', p.customer))).toBe('FORBIDDEN');
  expect(codeOf(await setDeliveryStatus(s, orderId, 'IN_PROGRESS', p.other))).toBe('FORBIDDEN');
  expect(codeOf(await setDeliveryStatus(s, '00000000-0000-4000-8000-000000000000', 'IN_PROGRESS', p.provider))).toBe('NOT_FOUND');
  expect(codeOf(await setDeliveryStatus(s, 'not-a-uuid', 'IN_PROGRESS', p.provider))).toBe('NOT_FOUND');

  for (const status of ['IN_PROGRESS', 'REVIEWING', 'COMPLETED']) ok(await setDeliveryStatus(s, orderId, status, p.provider));
  // A finished delivery moves no more.
  expect(codeOf(await setDeliveryStatus(s, orderId, 'CANCELLED', p.admin))).toBe('INVALID_STATUS_TRANSITION');

  const events = await sub.count(5);
  // A later change, of another order of the plan watched on the same socket: anything the refused move
  // had sent would have arrived before it.
  const laterId = await createOrder(s, p, planId);
  const later = subscribe(client, ORDER_UPDATED, { id: laterId });
  await later.count(1);
  ok(await cancelOrder(s, laterId, p.customer));
  await later.count(2);
  await client.dispose();
  expect(events.map((e) => [e.status, e.delivery?.status ?? null])).toEqual([
    ['PENDING', null],
    ['PAID', 'NEW'],
    ['PAID', 'IN_PROGRESS'],
    ['PAID', 'REVIEWING'],
    ['DELIVERED', 'COMPLETED'],
  ]);
  expectConsecutive(events);
  expect(events.length).toBe(5);

  const order = (await s.sql<{ tax: number; total: number }>(`select tax, total from "order" where id = $1`, [orderId]))[0];
  const split = splitRelease(order.total, order.tax, 2000, 1500);
  const wallet = ok(await s.gql(`{ wallet { balance { amount } transactions { edges { node { amount { amount } kind orderId } } } } }`, {}, p.provider)).wallet;
  expect(wallet.balance.amount).toBe(split.provider);
  expect(wallet.transactions.edges.map((e: { node: unknown }) => e.node)).toEqual([{ amount: { amount: split.provider }, kind: 'PAYOUT', orderId }]);
});

test('an admin cancelling a delivery refunds the order to the wallet in the same change', async () => {
  const p = await people();
  const planId = await createPlan(s, p, { price: 5_000, withProvider: true });
  const orderId = await createOrder(s, p, planId);
  const before = ok(await s.gql(`{ wallet { balance { amount } } }`, {}, p.customer)).wallet.balance.amount;
  const paid = ok(await payWithWallet(s, orderId, p.customer)).payWithWallet;
  ok(await setDeliveryStatus(s, orderId, 'IN_PROGRESS', p.provider));
  // A provider may not cancel.
  expect(codeOf(await setDeliveryStatus(s, orderId, 'CANCELLED', p.provider))).toBe('INVALID_STATUS_TRANSITION');
  const cancelled = ok(await setDeliveryStatus(s, orderId, 'CANCELLED', p.admin)).setDeliveryStatus;
  expect(cancelled).toMatchObject({ status: 'REFUNDED', delivery: { status: 'CANCELLED' }, version: paid.version + 2 });
  const after = ok(await s.gql(`{ wallet { balance { amount } } }`, {}, p.customer)).wallet.balance.amount;
  expect(after).toBe(before);
  expect(codeOf(await setDeliveryStatus(s, orderId, 'IN_PROGRESS', p.provider))).toBe('INVALID_STATUS_TRANSITION');
});

test('a delivery that cannot be provisioned is retried, ends FAILED after its last try, and an admin retry completes it', async () => {
  // The provisioning system the automatic delivery calls: down (503) until told otherwise.
  let up = false;
  const calls: string[] = [];
  const provisioning = http.createServer((req, res) => {
    calls.push(String(req.headers['idempotency-key']));
    res.writeHead(up ? 204 : 503).end();
  });
  await new Promise<void>((r) => provisioning.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(provisioning.address() as AddressInfo).port}/provision`;
  const f = await startTestServer({ DELIVERY_WEBHOOK_URL: url, DELIVERY_MAX_ATTEMPTS: '3' });
  try {
    const p = await people();
    const planId = await createPlan(f, p, { durationDays: 7 });
    const orderId = await createOrder(f, p, planId);
    const { client } = wsClient(f, p.customer);
    const sub = subscribe(client, ORDER_UPDATED, { id: orderId });
    await sub.count(1);
    ok(await payWithWallet(f, orderId, p.customer));

    // attempts 1..3 (graphile-worker's backoff: ~3 s, then ~7 s), then FAILED.
    const failed = await until('the delivery to end FAILED', () => sub.events.find((e) => e.delivery?.status === 'FAILED'), 40_000);
    expect(failed.delivery!.attempts).toBe(3);
    expect(failed.status).toBe('PAID');
    expect(calls).toEqual([orderId, orderId, orderId]);
    expect(sub.events.map((e) => e.delivery?.status ?? null)).toEqual([null, 'NEW', 'IN_PROGRESS', 'IN_PROGRESS', 'IN_PROGRESS', 'FAILED']);
    expect(sub.events.map((e) => e.delivery?.attempts ?? 0)).toEqual([0, 0, 1, 2, 3, 3]);
    expectConsecutive(sub.events);
    expect(ok(await f.gql(SERVICES, {}, p.customer)).me.services).toEqual([]);

    // Only an admin may retry.
    expect(codeOf(await setDeliveryStatus(f, orderId, 'NEW', p.customer))).toBe('FORBIDDEN');
    up = true;
    ok(await setDeliveryStatus(f, orderId, 'NEW', p.admin));
    const done = await until('the retried delivery to complete', () => sub.events.find((e) => e.status === 'DELIVERED'), 20_000);
    await client.dispose();
    expect(done.delivery).toMatchObject({ status: 'COMPLETED', attempts: 4 });
    expectConsecutive(sub.events);
    expect(sub.events.slice(6).map((e) => e.delivery?.status)).toEqual(['NEW', 'IN_PROGRESS', 'COMPLETED']);
    expect(ok(await f.gql(SERVICES, {}, p.customer)).me.services).toHaveLength(1);
  } finally {
    await f.stop();
    provisioning.close();
  }
});

/** A provisioning system that holds every call until the test answers it. */
async function heldProvisioning() {
  const held: http.ServerResponse[] = [];
  const server = http.createServer((_req, res) => held.push(res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const close = () => {
    server.closeAllConnections();
    server.close();
  };
  return { held, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/provision`, close };
}

/** What the delivery job logged, as `level: message` lines. */
const jobLog: string[] = [];

/** Runs attempt `attempts` of an order's automatic delivery job, as graphile-worker would (on a server without a job runner). */
const runDeliveryJob = (f: TestServer, orderId: string, attempts: number, maxAttempts: number) =>
  Promise.resolve(
    f.app.services.tasks.deliver_order!({ orderId }, {
      job: { attempts, max_attempts: maxAttempts },
      logger: { error: (m: string) => jobLog.push(`error: ${m}`), warn: (m: string) => jobLog.push(`warn: ${m}`) },
    } as never),
  );

test('a delivery whose last attempt stopped midway (its process died) ends FAILED on the job’s one extra run, and an admin can retry it', async () => {
  // The provisioning system holds every call: the attempt waits there, as one whose process stopped.
  const provisioning = await heldProvisioning();
  const { held } = provisioning;
  // No job runner: the test runs the job's attempts itself.
  const f = await startTestServer({ DELIVERY_WEBHOOK_URL: provisioning.url, DELIVERY_MAX_ATTEMPTS: '2', RUN_WORKER: 'false' });
  try {
    const p = await people();
    const planId = await createPlan(f, p, { durationDays: 7 });
    const orderId = await createOrder(f, p, planId);
    ok(await payWithWallet(f, orderId, p.customer));
    const [job] = await f.sql<{ max_attempts: number }>(`select max_attempts from job_outbox where task = 'deliver_order' and payload ->> 'orderId' = $1`, [orderId]);
    expect(job).toEqual({ max_attempts: 3 });
    const delivery = async () => (await f.sql<{ status: string; attempts: number }>(`select status, attempts from delivery where order_id = $1`, [orderId]))[0];

    // The last of the two attempts marks the delivery IN_PROGRESS, calls the provisioning system and
    // gets no answer: its process is gone, as far as the job is concerned.
    const last = runDeliveryJob(f, orderId, 2, 3).catch(() => undefined);
    await until('the last attempt to call the provisioning system', () => held.length === 1);
    expect(await delivery()).toEqual({ status: 'IN_PROGRESS', attempts: 1 });

    // Taken back from the dead runner, the job runs once more: the delivery ends FAILED, for an admin,
    // and the log counts the delivery's two attempts, not the job's three runs.
    jobLog.length = 0;
    await runDeliveryJob(f, orderId, 3, 3);
    expect(await delivery()).toMatchObject({ status: 'FAILED' });
    expect(jobLog).toEqual([`error: automatic delivery of order ${orderId} failed for good after 2 attempts`]);
    expect(held).toHaveLength(1);
    const [audit] = await f.sql(`select action, details ->> 'attempts' as attempts from audit_entry where target_id = $1 and action = 'deliveryFailed'`, [orderId]);
    expect(audit).toEqual({ action: 'deliveryFailed', attempts: '2' });
    expect((await f.sql(`select status from "order" where id = $1`, [orderId]))[0]).toEqual({ status: 'PAID' });
    ok(await setDeliveryStatus(f, orderId, 'NEW', p.admin));
    expect(await delivery()).toMatchObject({ status: 'NEW' });

    // The held call answering late changes nothing.
    held[0].writeHead(503).end();
    await last;
    expect(await delivery()).toMatchObject({ status: 'NEW' });
  } finally {
    await f.stop();
    provisioning.close();
  }
});

test('an order refunded while it is being provisioned is not delivered, and the audit log tells an admin to undo the provisioning', async () => {
  const provisioning = await heldProvisioning();
  const { held } = provisioning;
  const f = await startTestServer({ DELIVERY_WEBHOOK_URL: provisioning.url, RUN_WORKER: 'false' });
  try {
    const p = await people();
    const planId = await createPlan(f, p, { durationDays: 7 });
    const orderId = await createOrder(f, p, planId);
    ok(await payWithWallet(f, orderId, p.customer));
    const attempt = runDeliveryJob(f, orderId, 1, 6);
    await until('the attempt to call the provisioning system', () => held.length === 1);
    ok(await f.gql(`mutation($o: ID!) { refundOrder(orderId: $o) { status } }`, { o: orderId }, p.admin));
    // The provisioning system answers that it has set the service up.
    held[0].writeHead(204).end();
    await attempt;
    expect((await f.sql(`select o.status, d.status as delivery from "order" o join delivery d on d.order_id = o.id where o.id = $1`, [orderId]))[0]).toEqual({
      status: 'REFUNDED',
      delivery: 'CANCELLED',
    });
    expect(ok(await f.gql(SERVICES, {}, p.customer)).me.services).toEqual([]);
    const audits = await f.sql(`select action from audit_entry where target_id = $1 order by at`, [orderId]);
    expect(audits.map((a) => a.action)).toContain('provisionedAfterOrderEnded');
  } finally {
    await f.stop();
    provisioning.close();
  }
});
