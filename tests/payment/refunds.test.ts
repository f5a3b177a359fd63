import { randomUUID } from 'node:crypto';
import { PENDING_JOBS } from '../support/jobs';
import { expectLedgerSound } from '../support/ledger-invariants';
import {
  GATEWAY_PLAN_TOTAL as TOTAL,
  PAY_WALLET,
  REFUND,
  adminToken,
  createOrder,
  credit,
  newCustomer,
  openCheckout,
  orderRow,
  paidThroughGateway,
  startGatewayServer,
  type GatewayServer,
} from '../support/payments-fixtures';
import { codeOf, type TestServer } from '../support/server';
import { chargeRefundedEvent, checkoutEvent, postWebhook, type StripeStub } from '../support/stripe-stub';
import { until } from '../support/until';

/**
 * Gateway refunds are recorded in the refunding transaction and sent to Stripe afterwards by a job, so a
 * slow or hanging Stripe holds no connection and no row lock, and a refund Stripe carried out is never
 * undone by a rolled-back transaction. The server runs with the default pool (DB_POOL_SIZE 20).
 */
jest.setTimeout(120_000);

let gateway: GatewayServer;
let stub: StripeStub;
let s: TestServer;
let planId: string;
beforeAll(async () => {
  gateway = await startGatewayServer({ MUTATION_RATE_LIMIT: '100000' });
  ({ stub, s, planId } = gateway);
});
afterAll(() => gateway?.stop());
beforeEach(() => {
  stub.mode = 'ok';
  stub.refundMode = 'ok';
});

const refundOf = async (orderId: string) => (await s.sql(`select id, status, gateway_ref, error from refund where order_id = $1`, [orderId]))[0];
/** Connections of the server's database inside a transaction that is waiting for its client (e.g. for Stripe). */
/**
 * Connections that have sat in an open transaction for over 2 s: what a transaction waiting on Stripe
 * looks like. (A transaction between two of its statements is idle for an instant; that is not waiting.)
 */
const waitingInTransaction = async () =>
  Number(
    (await s.sql(`select count(*) from pg_stat_activity where datname = current_database() and state like 'idle in transaction%' and state_change < now() - interval '2 seconds'`))[0]
      .count,
  );

test('while Stripe hangs on refunds, 25 refunds answer REFUNDED at once and 40 other requests go through; no connection waits in a transaction; each refund reaches Stripe once when it answers', async () => {
  const paid = await Promise.all(Array.from({ length: 25 }, () => paidThroughGateway(gateway)));
  const others = await Promise.all(
    Array.from({ length: 40 }, async () => {
      const c = await newCustomer(s);
      await credit(s, c.id, TOTAL);
      return { c, order: await createOrder(s, c, planId) };
    }),
  );
  const admin = await adminToken();

  stub.refundMode = 'hang';
  const refunding = Promise.all(paid.map(({ order }) => s.gql(REFUND, { orderId: order.id }, admin)));
  await until('Stripe to be holding refund calls', async () => stub.held() > 0);
  const heldSince = Date.now();
  // Long enough that a transaction waiting on a held call would have been idle for over 2 s.
  await until('a held refund call to be 3 s old', () => Date.now() - heldSince > 3_000 && stub.held() > 0);
  // Stripe is holding calls now: nothing in the database may be waiting on them.
  expect(await waitingInTransaction()).toBe(0);

  const answers = await Promise.all(others.map(({ c, order }) => s.gql(PAY_WALLET, { orderId: order.id }, c.token)));
  expect(answers.map((a) => codeOf(a) ?? a.data!.payWithWallet.status)).toEqual(Array(40).fill('PAID'));
  const refunds = await refunding;
  expect(refunds.map((r) => codeOf(r) ?? r.data!.refundOrder.status)).toEqual(Array(25).fill('REFUNDED'));
  expect(await waitingInTransaction()).toBe(0);
  // Recorded, not yet confirmed: the order is REFUNDED and the money has left escrow.
  const pending = await s.sql(`select status from refund where order_id = any($1::uuid[])`, [paid.map((p) => p.order.id)]);
  expect(pending).toHaveLength(25);
  expect(pending.filter((r) => r.status === 'PENDING').length).toBeGreaterThan(0);

  stub.releaseRefunds();
  await until(
    'every refund to be confirmed',
    async () => (await s.sql(`select count(*)::int n from refund where order_id = any($1::uuid[]) and status = 'SUCCEEDED'`, [paid.map((p) => p.order.id)]))[0].n === 25,
    90_000,
  );
  for (const { order, pi } of paid) {
    const made = stub.refundsOf(pi);
    expect([order.id, made.length]).toEqual([order.id, 1]);
    expect(await refundOf(order.id)).toMatchObject({ status: 'SUCCEEDED', gateway_ref: made[0].id });
  }
  await expectLedgerSound((text, params) => s.sql(text, params));
});

test('a refund Stripe refuses for good is FAILED with the reason; the order stays REFUNDED and the books balance', async () => {
  const { order, pi } = await paidThroughGateway(gateway);
  stub.refundMode = 'refuse';
  const r = await s.gql(REFUND, { orderId: order.id }, await adminToken());
  expect(r.data!.refundOrder.status).toBe('REFUNDED');
  const failed = await until('the refund to be settled', async () => (await s.sql(`select status, error from refund where order_id = $1 and status <> 'PENDING'`, [order.id]))[0]);
  expect(failed).toEqual({ status: 'FAILED', error: expect.stringContaining('charge_disputed') });
  // Refused once, not asked again and again.
  expect(stub.requestsTo('/v1/refunds').filter((x) => x.body.payment_intent === pi)).toHaveLength(1);
  expect(await orderRow(s, order.id)).toMatchObject({ status: 'REFUNDED' });
  await until('the refund job to finish', async () => Number((await s.sql(`select count(*) from ${PENDING_JOBS} where task = 'send_refund'`))[0].count) === 0);
  await expectLedgerSound((text, params) => s.sql(text, params));
});

test('a refund Stripe reports pending stays PENDING (with its id) until Stripe’s charge.refunded confirms it', async () => {
  const { order, pi } = await paidThroughGateway(gateway);
  stub.refundMode = 'pending';
  expect((await s.gql(REFUND, { orderId: order.id }, await adminToken())).data!.refundOrder.status).toBe('REFUNDED');
  const noted = await until('the pending refund’s id', async () => (await s.sql(`select id, status, gateway_ref from refund where order_id = $1 and gateway_ref is not null`, [order.id]))[0]);
  expect(noted.status).toBe('PENDING');
  const [made] = stub.refundsOf(pi);
  expect(noted.gateway_ref).toBe(made.id);

  const res = await postWebhook(s.url, chargeRefundedEvent(pi, TOTAL, [{ id: made.id as string, status: 'succeeded', metadata: made.metadata }]));
  expect(res).toMatchObject({ status: 200, body: { outcome: 'processed' } });
  expect(await refundOf(order.id)).toMatchObject({ status: 'SUCCEEDED', gateway_ref: made.id });
  // The job, asking again later, finds it settled and stops.
  await until('the refund job to finish', async () => Number((await s.sql(`select count(*) from ${PENDING_JOBS} where task = 'send_refund'`))[0].count) === 0, 30_000);
  expect(stub.refundsOf(pi)).toHaveLength(1);
});

/** Stripe's event about one refund, carrying the refund as Stripe has it now. */
const refundEvent = (type: string, refund: Record<string, unknown>, status: string, failureReason?: string) => ({
  id: `evt_${randomUUID()}`,
  object: 'event',
  type,
  data: { object: { ...refund, object: 'refund', status, ...(failureReason ? { failure_reason: failureReason } : {}) } },
});

test('charge.refunded without its refunds listed settles nothing by its amount: a refund pending at Stripe stays PENDING until Stripe says where it stands', async () => {
  const { order, pi } = await paidThroughGateway(gateway);
  stub.refundMode = 'pending';
  expect((await s.gql(REFUND, { orderId: order.id }, await adminToken())).data!.refundOrder.status).toBe('REFUNDED');
  await until('the pending refund’s id', async () => (await refundOf(order.id))?.gateway_ref);
  const [made] = stub.refundsOf(pi);
  // Its amount_refunded counts the pending refund: it proves nothing about it.
  const event = { id: `evt_${randomUUID()}`, object: 'event', type: 'charge.refunded', data: { object: { id: `ch_${randomUUID()}`, object: 'charge', payment_intent: pi, amount_refunded: TOTAL } } };
  expect(await postWebhook(s.url, event)).toMatchObject({ status: 200, body: { outcome: 'processed' } });
  expect(await refundOf(order.id)).toMatchObject({ status: 'PENDING', gateway_ref: made.id });
  // A refund still pending changes nothing; once Stripe reports it succeeded, it is.
  expect(await postWebhook(s.url, refundEvent('refund.updated', made, 'pending'))).toMatchObject({ status: 200, body: { outcome: 'processed' } });
  expect(await refundOf(order.id)).toMatchObject({ status: 'PENDING' });
  made.status = 'succeeded';
  expect(await postWebhook(s.url, refundEvent('refund.updated', made, 'succeeded'))).toMatchObject({ status: 200, body: { outcome: 'processed' } });
  expect(await refundOf(order.id)).toMatchObject({ status: 'SUCCEEDED', gateway_ref: made.id, error: null });
  await until('the refund job to finish', async () => Number((await s.sql(`select count(*) from ${PENDING_JOBS} where task = 'send_refund'`))[0].count) === 0, 30_000);
  expect(stub.refundsOf(pi)).toHaveLength(1);
  await expectLedgerSound((text, params) => s.sql(text, params));
});

test('a refund Stripe fails, pending or after it succeeded, ends FAILED with the reason; the order stays REFUNDED', async () => {
  for (const mode of ['pending', 'ok'] as const) {
    const { order, pi } = await paidThroughGateway(gateway);
    stub.refundMode = mode;
    expect((await s.gql(REFUND, { orderId: order.id }, await adminToken())).data!.refundOrder.status).toBe('REFUNDED');
    await until('the refund to reach Stripe', async () => (await refundOf(order.id))?.gateway_ref);
    expect((await refundOf(order.id)).status).toBe(mode === 'ok' ? 'SUCCEEDED' : 'PENDING');
    const [made] = stub.refundsOf(pi);
    made.status = 'failed';
    const type = mode === 'ok' ? 'refund.failed' : 'charge.refund.updated';
    expect(await postWebhook(s.url, refundEvent(type, made, 'failed', 'expired_or_canceled_card'))).toMatchObject({ status: 200, body: { outcome: 'processed' } });
    expect(await refundOf(order.id)).toMatchObject({ status: 'FAILED', error: 'refund failed: expired_or_canceled_card' });
    expect(await orderRow(s, order.id)).toMatchObject({ status: 'REFUNDED' });
  }
  await until('the refund jobs to finish', async () => Number((await s.sql(`select count(*) from ${PENDING_JOBS} where task = 'send_refund'`))[0].count) === 0, 30_000);
  await expectLedgerSound((text, params) => s.sql(text, params));
});

test('an admin cancelling a gateway-paid delivery refunds through the same job', async () => {
  const { order, pi } = await paidThroughGateway(gateway);
  const r = await s.gql(`mutation($o: ID!) { setDeliveryStatus(orderId: $o, status: CANCELLED) { status delivery { status } } }`, { o: order.id }, await adminToken());
  expect(r.data.setDeliveryStatus).toEqual({ status: 'REFUNDED', delivery: { status: 'CANCELLED' } });
  await until('the refund to be confirmed', async () => (await refundOf(order.id))?.status === 'SUCCEEDED');
  expect(stub.refundsOf(pi)).toHaveLength(1);
  await expectLedgerSound((text, params) => s.sql(text, params));
});

test('a late payment (order cancelled meanwhile) is refunded by the job too: its event is answered without waiting for Stripe', async () => {
  const { c, order, sessionId } = await openCheckout(s, planId);
  expect(codeOf(await s.gql(`mutation($o: ID!) { cancelOrder(orderId: $o) { status } }`, { o: order.id }, c.token))).toBeUndefined();
  const pi = `pi_${randomUUID()}`;
  stub.refundMode = 'hang';
  const res = await postWebhook(s.url, checkoutEvent({ id: sessionId, amount_total: TOTAL, currency: 'usd', orderId: order.id, payment_intent: pi }));
  // The event's answer does not wait for Stripe's refund.
  expect(res).toMatchObject({ status: 200, body: { outcome: 'processed' } });
  await until('the charge refund to reach Stripe', async () => stub.held() > 0);
  expect((await s.sql(`select refund_status from gateway_charge where session_id = $1`, [sessionId]))[0]).toEqual({ refund_status: 'PENDING' });
  stub.releaseRefunds();
  await until('the charge refund to be confirmed', async () => (await s.sql(`select refund_status from gateway_charge where session_id = $1`, [sessionId]))[0]?.refund_status === 'SUCCEEDED');
  expect(stub.refundsOf(pi)).toHaveLength(1);
});
