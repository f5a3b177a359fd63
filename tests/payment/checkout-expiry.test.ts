import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { PENDING_JOBS } from '../support/jobs';
import { expectLedgerSound } from '../support/ledger-invariants';
import { CANCEL_ORDER, PAY_GATEWAY, PAY_WALLET, adminToken, createOrder, createProviderPlan, credit, newCustomer, openCheckout, orderRow } from '../support/payments-fixtures';
import { codeOf, startTestServer, type TestServer } from '../support/server';
import { STRIPE_TEST_KEYS, postWebhook, startStripeStub, type StripeStub } from '../support/stripe-stub';
import { until } from '../support/until';

/**
 * Checkout Sessions live no longer than their order waits for them: they are opened with `expires_at`
 * inside Stripe's window (30 min to 24 h), and expired at Stripe (by a job, after commit) as soon as the
 * order leaves PENDING any other way: cancelled by its customer or an admin, timed out, paid from the
 * wallet. An expired session cannot be paid (the stub refuses it as Stripe's checkout page does).
 */
jest.setTimeout(90_000);

const TIMEOUT_SECONDS = 8;
let stub: StripeStub;
let s: TestServer;
let long: TestServer;
let planId: string;

beforeAll(async () => {
  stub = await startStripeStub();
  s = await startTestServer({ ...STRIPE_TEST_KEYS, STRIPE_API_URL: stub.url, ORDER_PAYMENT_TIMEOUT_SECONDS: String(TIMEOUT_SECONDS) });
  planId = (await createProviderPlan(s, 2000)).planId;
  // Same database, orders that wait two hours (and no worker of its own).
  long = await startTestServer({ ...STRIPE_TEST_KEYS, STRIPE_API_URL: stub.url, ORDER_PAYMENT_TIMEOUT_SECONDS: '7200', RUN_WORKER: 'false' }, { databaseUrl: s.databaseUrl });
});
afterAll(async () => {
  await expectLedgerSound((text, params) => s.sql(text, params));
  await long?.stop();
  await s?.stop();
  await stub?.close();
});

/** Backends of the test database waiting for a lock. */
const waitingForLocks = async () => Number((await s.sql(`select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`))[0].count);

/**
 * Opens the order's Checkout Session while another connection holds an uncommitted OPEN session of it,
 * so the API's insert waits on the one-open-session index, holding its share lock of the order; then
 * runs `leave` (a change taking the order out of PENDING, or nothing when the payment timeout does it),
 * waits until that waits too, and lets the session be stored. Returns the stored session's id (checked
 * to be the one the API answered with) and what `leave` answered.
 */
async function whileSessionIsStored<T>(order: { id: string; total: number }, customerToken: string, leave: () => Promise<T>, waitMs = 10_000): Promise<{ sessionId: string; left: T }> {
  const blocker = new Client({ connectionString: s.databaseUrl });
  await blocker.connect();
  try {
    await blocker.query('begin');
    await blocker.query(
      `insert into checkout_session (id, order_id, url, amount, currency, status, expires_at) values ($1, $2, 'https://checkout.invalid', $3, 'USD', 'OPEN', now() + interval '1 hour')`,
      [`cs_blocker_${randomUUID()}`, order.id, order.total],
    );
    const gateway = s.gql(PAY_GATEWAY, { orderId: order.id }, customerToken);
    await until('the session insert to wait', async () => (await waitingForLocks()) === 1);
    const leaving = leave();
    await until('the change leaving PENDING to wait for it', async () => (await waitingForLocks()) === 2, waitMs);
    await blocker.query('rollback');
    const opened = await gateway;
    expect(codeOf(opened)).toBeUndefined();
    const left = await leaving;
    const sessionId = (await s.sql(`select id from checkout_session where order_id = $1`, [order.id]))[0].id as string;
    expect(opened.data!.payWithGateway.checkoutUrl).toBe(stub.sessions.get(sessionId)!.url);
    return { sessionId, left };
  } finally {
    await blocker.end();
  }
}

/** A pending order of a new customer with its Checkout Session open at the stub. */
const opened = (server: TestServer = s) => openCheckout(server, planId);

const stubStatus = (sessionId: string) => stub.sessions.get(sessionId)!.status;
const storedStatus = async (sessionId: string) => (await s.sql(`select status from checkout_session where id = $1`, [sessionId]))[0]?.status;
/** Waits until the session is expired at Stripe and here, then checks it can no longer be paid. */
async function expectExpired(sessionId: string): Promise<void> {
  await until('the session to be expired at Stripe', async () => stubStatus(sessionId) === 'expired' && (await storedStatus(sessionId)) === 'EXPIRED');
  expect(() => stub.completeCheckout(sessionId)).toThrow(/expired: it cannot be paid/);
  const expiries = stub.requestsTo(`/v1/checkout/sessions/${sessionId}/expire`);
  expect(expiries.length).toBeGreaterThanOrEqual(1);
}

describe('expires_at', () => {
  test('an order that expires sooner than Stripe allows opens its session 30 minutes (and a little) ahead', async () => {
    const before = Date.now();
    const { order, sessionId } = await opened();
    const sent = Number(stub.requestsTo('/v1/checkout/sessions').find((r) => r.body.client_reference_id === order.id)!.body.expires_at) * 1000;
    expect(sent).toBeGreaterThanOrEqual(before + 30 * 60_000);
    expect(sent).toBeLessThanOrEqual(Date.now() + 33 * 60_000);
    const [row] = await s.sql(`select expires_at from checkout_session where id = $1`, [sessionId]);
    expect(row.expires_at.getTime()).toBe(sent);
  });

  test('an order that waits two hours opens its session to expire with the order', async () => {
    const { order, sessionId } = await opened(long);
    const [{ expires_at }] = await s.sql(`select expires_at from "order" where id = $1`, [order.id]);
    const sent = Number(stub.sessions.get(sessionId)!.expires_at) * 1000;
    expect(sent).toBe(Math.floor(expires_at.getTime() / 1000) * 1000);
  });
});

describe('an order leaving PENDING expires its open session at Stripe', () => {
  test('cancelled by its customer', async () => {
    const { c, order, sessionId } = await opened();
    expect(codeOf(await s.gql(CANCEL_ORDER, { orderId: order.id }, c.token))).toBeUndefined();
    await expectExpired(sessionId);
  });

  test('cancelled by an admin', async () => {
    const { order, sessionId } = await opened();
    expect(codeOf(await s.gql(CANCEL_ORDER, { orderId: order.id }, await adminToken()))).toBeUndefined();
    await expectExpired(sessionId);
    expect(await orderRow(s, order.id)).toMatchObject({ status: 'CANCELLED' });
  });

  test('timed out', async () => {
    const { order, sessionId } = await opened();
    await until('the payment timeout', async () => (await orderRow(s, order.id)).status === 'CANCELLED', 30_000);
    await expectExpired(sessionId);
  });

  test('paid from the wallet', async () => {
    const { c, order, sessionId } = await opened();
    await credit(s, c.id, order.total);
    expect(codeOf(await s.gql(PAY_WALLET, { orderId: order.id }, c.token))).toBeUndefined();
    await expectExpired(sessionId);
    expect(await orderRow(s, order.id)).toMatchObject({ status: 'PAID', payment_method: 'WALLET' });
  });

  test('paid from the wallet while its session was being stored: the session is stored, then expired', async () => {
    const c = await newCustomer(s);
    await credit(s, c.id, 2000 * 2);
    const order = await createOrder(s, c, planId);
    const { sessionId, left } = await whileSessionIsStored(order, c.token, async () => s.gql(PAY_WALLET, { orderId: order.id }, c.token));
    expect(codeOf(left)).toBeUndefined();
    expect(await orderRow(s, order.id)).toMatchObject({ status: 'PAID', payment_method: 'WALLET' });
    await expectExpired(sessionId);
  });

  test.each(['its customer', 'an admin'] as const)('cancelled by %s while its session was being stored: the session is stored, then expired', async (who) => {
    const c = await newCustomer(s);
    const order = await createOrder(s, c, planId);
    const canceller = who === 'an admin' ? await adminToken() : c.token;
    const { sessionId, left } = await whileSessionIsStored(order, c.token, async () => s.gql(CANCEL_ORDER, { orderId: order.id }, canceller));
    expect(codeOf(left)).toBeUndefined();
    expect(await orderRow(s, order.id)).toMatchObject({ status: 'CANCELLED' });
    await expectExpired(sessionId);
  });

  test('timed out while its session was being stored: the session is stored, then expired', async () => {
    const c = await newCustomer(s);
    const order = await createOrder(s, c, planId);
    // The payment timeout comes due while the session is being stored, and waits for it.
    const { sessionId } = await whileSessionIsStored(order, c.token, async () => null, (TIMEOUT_SECONDS + 15) * 1000);
    await until('the timeout', async () => (await orderRow(s, order.id)).status === 'CANCELLED');
    await expectExpired(sessionId);
  });

  test('a session the customer paid just before is left complete; its payment is refunded as a late one', async () => {
    const { c, order, sessionId } = await opened();
    const pi = `pi_${randomUUID()}`;
    const event = stub.completeCheckout(sessionId, { paymentIntent: pi });
    expect(codeOf(await s.gql(CANCEL_ORDER, { orderId: order.id }, c.token))).toBeUndefined();
    await until('the expiry job to settle the session', async () => (await storedStatus(sessionId)) === 'COMPLETED');
    await until('the expiry job to finish', async () => Number((await s.sql(`select count(*) from ${PENDING_JOBS} where task = 'expire_checkout'`))[0].count) === 0);
    expect(stubStatus(sessionId)).toBe('complete');
    expect((await postWebhook(s.url, event)).status).toBe(200);
    await until('the late payment to be refunded', async () => stub.refundsOf(pi).length === 1);
    expect(await orderRow(s, order.id)).toMatchObject({ status: 'CANCELLED' });
  });

  test('Stripe down when the order is cancelled: the expiry is retried until Stripe takes it', async () => {
    const { c, order, sessionId } = await opened();
    stub.mode = 'error500';
    try {
      expect(codeOf(await s.gql(CANCEL_ORDER, { orderId: order.id }, c.token))).toBeUndefined();
      // The job's first run gives up (the first call and the SDK's two retries): the job itself is retried.
      await until('a failed expiry job run', async () => stub.requestsTo(`/v1/checkout/sessions/${sessionId}/expire`).filter((r) => r.outcome === 'error500').length >= 3);
      expect(stubStatus(sessionId)).toBe('open');
    } finally {
      stub.mode = 'ok';
    }
    await expectExpired(sessionId);
  });
});
