import { randomUUID } from 'node:crypto';
import { PENDING_JOBS } from '../support/jobs';
import { expectLedgerSound } from '../support/ledger-invariants';
import {
  GATEWAY_PLAN_TOTAL as TOTAL,
  PAY_GATEWAY,
  PAY_WALLET,
  REFUND,
  adminToken,
  cancelOrder,
  createOrder,
  createProviderPlan,
  credit,
  newCustomer,
  openCheckout,
  orderRow,
  startGatewayServer,
  type GatewayServer,
  type TestCustomer,
  type TestOrder,
} from '../support/payments-fixtures';
import { codeOf, type TestServer } from '../support/server';
import { checkoutEvent, postWebhook, type StripeStub } from '../support/stripe-stub';
import { until } from '../support/until';

const PUBLIC_URL = 'http://shop.test';
let gateway: GatewayServer;
let stub: StripeStub;
let s: TestServer;
let planId: string;

beforeAll(async () => {
  gateway = await startGatewayServer({ PUBLIC_URL });
  ({ stub, s, planId } = gateway);
});
afterAll(async () => {
  await expectLedgerSound(s.sql);
  await gateway.stop();
});
beforeEach(() => {
  stub.mode = 'ok';
});

/** A customer with a pending order and the Checkout Session opened for it. */
async function checkout(): Promise<{ c: TestCustomer; order: TestOrder; session: { id: string; amount_total: number; currency: string; orderId: string } }> {
  const { c, order, sessionId } = await openCheckout(s, planId);
  return { c, order, session: { id: sessionId, amount_total: order.total, currency: 'usd', orderId: order.id } };
}

const chargeOf = async (sessionId: string) =>
  (await s.sql(`select outcome, refund_ref, refund_status, amount::int, payment_intent from gateway_charge where session_id = $1`, [sessionId]))[0];
const refundsFor = (paymentIntent: string) => stub.requestsTo('/v1/refunds').filter((r) => r.body.payment_intent === paymentIntent && r.outcome === 'ok');
/** Waits until no refund job is left to run: every refund recorded so far has been sent and answered. */
const refundJobsDone = () =>
  until('the refund jobs to finish', async () => Number((await s.sql(`select count(*) from ${PENDING_JOBS} where task = 'send_refund'`))[0].count) === 0);
const escrowOf = async (orderId: string) =>
  Number((await s.sql(`select coalesce(sum(amount), 0) as held from ledger_entry where account = 'ESCROW' and order_id = $1`, [orderId]))[0].held);

describe('payWithGateway', () => {
  test('opens one Stripe Checkout Session for the locked total; calling again returns the open session', async () => {
    const c = await newCustomer(s);
    const order = await createOrder(s, c, planId);
    const before = stub.requestsTo('/v1/checkout/sessions').length;
    const r = await s.gql(PAY_GATEWAY, { orderId: order.id }, c.token);
    expect(r.errors).toBeUndefined();
    expect(r.data!.payWithGateway.order).toMatchObject({ id: order.id, status: 'PENDING', version: order.version, paymentMethod: null });
    expect(r.data!.payWithGateway.checkoutUrl).toMatch(/^https:\/\/checkout\.stripe\.test\/c\/pay\/cs_test_/);

    const calls = stub.requestsTo('/v1/checkout/sessions').slice(before);
    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call.authorization).toBe('Bearer sk_test_x');
    expect(call.idempotencyKey).toBe(`checkout:${order.id}:v${order.version}`);
    expect(call.body).toMatchObject({
      mode: 'payment',
      'line_items[0][quantity]': '1',
      'line_items[0][price_data][unit_amount]': String(TOTAL),
      'line_items[0][price_data][currency]': 'usd',
      'metadata[orderId]': order.id,
      client_reference_id: order.id,
      success_url: `${PUBLIC_URL}/checkout/success?order=${order.id}`,
      cancel_url: `${PUBLIC_URL}/checkout/cancel?order=${order.id}`,
    });

    const again = await s.gql(PAY_GATEWAY, { orderId: order.id }, c.token);
    expect(again.data!.payWithGateway.checkoutUrl).toBe(r.data!.payWithGateway.checkoutUrl);
    expect(stub.requestsTo('/v1/checkout/sessions').slice(before)).toHaveLength(1);
    expect(await s.sql(`select status from checkout_session where order_id = $1`, [order.id])).toEqual([{ status: 'OPEN' }]);
    expect(await orderRow(s, order.id)).toMatchObject({ status: 'PENDING', version: order.version });
  });

  test('simultaneous calls for one order store one open session and all answer its URL', async () => {
    const c = await newCustomer(s);
    const order = await createOrder(s, c, planId);
    const results = await Promise.all(Array.from({ length: 6 }, () => s.gql(PAY_GATEWAY, { orderId: order.id }, c.token)));
    expect(results.map(codeOf)).toEqual(Array(6).fill(undefined));
    expect(new Set(results.map((r) => r.data!.payWithGateway.checkoutUrl)).size).toBe(1);
    expect(await s.sql(`select id from checkout_session where order_id = $1`, [order.id])).toHaveLength(1);
  });

  test('only the order’s customer, only a PENDING order', async () => {
    const owner = await newCustomer(s);
    const other = await newCustomer(s);
    const order = await createOrder(s, owner, planId);
    expect(codeOf(await s.gql(PAY_GATEWAY, { orderId: order.id }, other.token))).toBe('FORBIDDEN');
    expect(codeOf(await s.gql(PAY_GATEWAY, { orderId: 'x' }, owner.token))).toBe('NOT_FOUND');
    expect(await cancelOrder(s, owner, order.id)).toBeUndefined();
    expect(codeOf(await s.gql(PAY_GATEWAY, { orderId: order.id }, owner.token))).toBe('ORDER_NOT_PAYABLE');
  });

  test.each(['error500', 'close'] as const)('gateway down (%s): retried with backoff, then PAYMENT_GATEWAY_UNAVAILABLE in bounded time, order unchanged', async (mode) => {
    const c = await newCustomer(s);
    const order = await createOrder(s, c, planId);
    stub.mode = mode;
    const before = stub.requestsTo('/v1/checkout/sessions').length;
    const started = Date.now();
    const r = await s.gql(PAY_GATEWAY, { orderId: order.id }, c.token);
    const elapsed = Date.now() - started;
    expect(codeOf(r)).toBe('PAYMENT_GATEWAY_UNAVAILABLE');
    expect(elapsed).toBeLessThan(15_000);
    const attempts = stub.requestsTo('/v1/checkout/sessions').slice(before);
    expect(attempts).toHaveLength(3); // the first try and two retries
    expect(new Set(attempts.map((a) => a.idempotencyKey))).toEqual(new Set([`checkout:${order.id}:v${order.version}`]));
    expect(await orderRow(s, order.id)).toMatchObject({ status: 'PENDING', version: order.version });
    expect(await s.sql(`select 1 from checkout_session where order_id = $1`, [order.id])).toHaveLength(0);

    stub.mode = 'ok';
    const recovered = await s.gql(PAY_GATEWAY, { orderId: order.id }, c.token);
    expect(recovered.errors).toBeUndefined();
  });
});

describe('amounts Stripe does not take', () => {
  test.each([
    ['below its minimum', 30, 35, /below the smallest amount/, 'AMOUNT_TOO_SMALL'],
    ['above its maximum', 90_000_000, 103_500_000, /above the largest amount/, 'AMOUNT_TOO_LARGE'],
  ] as const)('%s: BAD_USER_INPUT saying why (not an outage), asked once, order unchanged', async (_what, price, total, message, reason) => {
    const { planId: tiny } = await createProviderPlan(s, price);
    const c = await newCustomer(s);
    const order = await createOrder(s, c, tiny);
    expect(order.total).toBe(total);
    const before = stub.requestsTo('/v1/checkout/sessions').length;
    const r = await s.gql(PAY_GATEWAY, { orderId: order.id }, c.token);
    expect(codeOf(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0].message).toMatch(message);
    expect(r.errors![0].message).toContain(`$${(total / 100).toLocaleString('en-US', { minimumFractionDigits: 2 })}`);
    expect(r.errors![0].extensions).toMatchObject({ field: 'orderId', reason });
    // Stripe refused it (amount_too_small / amount_too_large): a refusal is not retried like an outage.
    const calls = stub.requestsTo('/v1/checkout/sessions').slice(before);
    expect(calls).toHaveLength(1);
    expect(await orderRow(s, order.id)).toMatchObject({ status: 'PENDING', version: order.version });
    expect(await s.sql(`select 1 from checkout_session where order_id = $1`, [order.id])).toHaveLength(0);
  });
});

describe('POST /webhooks/stripe', () => {
  test('checkout.session.completed (paid) confirms the payment: PAID by GATEWAY, delivery NEW, escrow holds the total', async () => {
    const { order, session } = await checkout();
    const event = checkoutEvent({ ...session, payment_intent: `pi_${randomUUID()}` });
    const res = await postWebhook(s.url, event);
    expect(res.status).toBe(200);
    const [row] = await s.sql(
      `select o.status, o.version, o.payment_method, d.status as delivery, p.method, p.gateway_ref, p.amount::int
         from "order" o join delivery d on d.order_id = o.id join payment p on p.order_id = o.id where o.id = $1`,
      [order.id],
    );
    const pi = (event as any).data.object.payment_intent;
    expect(row).toEqual({ status: 'PAID', version: order.version + 1, payment_method: 'GATEWAY', delivery: 'NEW', method: 'GATEWAY', gateway_ref: pi, amount: TOTAL });
    expect(await chargeOf(session.id)).toMatchObject({ outcome: 'APPLIED', refund_ref: null });
    expect(await s.sql(`select status from checkout_session where id = $1`, [session.id])).toEqual([{ status: 'COMPLETED' }]);
    expect(await escrowOf(order.id)).toBe(TOTAL);
  });

  test('a bad, missing or foreign signature, or a tampered body, gets 400 and changes nothing', async () => {
    const { order, session } = await checkout();
    const event = checkoutEvent(session);
    const payload = JSON.stringify(event);
    expect((await postWebhook(s.url, event, { secret: 'whsec_wrong' })).status).toBe(400);
    expect((await postWebhook(s.url, event, { signature: null })).status).toBe(400);
    expect((await postWebhook(s.url, event, { signature: 't=1,v1=deadbeef' })).status).toBe(400);
    // Signed for another body.
    const { default: Stripe } = await import('stripe');
    const header = new Stripe('sk_test_x').webhooks.generateTestHeaderString({ payload: payload.replace(String(TOTAL), '1'), secret: 'whsec_x' });
    expect((await postWebhook(s.url, event, { signature: header })).status).toBe(400);
    expect(await orderRow(s, order.id)).toMatchObject({ status: 'PENDING', version: order.version });
    expect(await s.sql(`select 1 from gateway_event where id = $1`, [(event as any).id])).toHaveLength(0);
    expect(await chargeOf(session.id)).toBeUndefined();
  });

  test('a stale timestamp (beyond the 5-minute tolerance) gets 400', async () => {
    const { order, session } = await checkout();
    const res = await postWebhook(s.url, checkoutEvent(session), { timestamp: Math.floor(Date.now() / 1000) - 600 });
    expect(res.status).toBe(400);
    expect(await orderRow(s, order.id)).toMatchObject({ status: 'PENDING' });
  });

  test('the same event delivered again, also ten at once, pays once and every answer is 2xx', async () => {
    const { order, session } = await checkout();
    const event = checkoutEvent(session);
    const answers = await Promise.all(Array.from({ length: 10 }, () => postWebhook(s.url, event)));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    const later = await postWebhook(s.url, event);
    expect(later.status).toBe(200);
    expect(later.body.outcome).toBe('duplicate');
    expect(await s.sql(`select 1 from payment where order_id = $1`, [order.id])).toHaveLength(1);
    expect(await orderRow(s, order.id)).toMatchObject({ status: 'PAID', version: order.version + 1 });
    expect(await escrowOf(order.id)).toBe(TOTAL);
  });

  test('two different events about one paid session apply it once and refund nothing', async () => {
    const { order, session } = await checkout();
    const pi = `pi_${randomUUID()}`;
    expect((await postWebhook(s.url, checkoutEvent({ ...session, payment_intent: pi }))).status).toBe(200);
    expect((await postWebhook(s.url, checkoutEvent({ ...session, payment_intent: pi }, 'checkout.session.async_payment_succeeded'))).status).toBe(200);
    expect(await s.sql(`select 1 from payment where order_id = $1`, [order.id])).toHaveLength(1);
    expect(refundsFor(pi)).toHaveLength(0);
  });

  test('an amount different from the total is not a payment: order stays PENDING, the money is refunded once', async () => {
    const { order, session } = await checkout();
    const pi = `pi_${randomUUID()}`;
    const res = await postWebhook(s.url, checkoutEvent({ ...session, amount_total: TOTAL - 1, payment_intent: pi }));
    expect(res.status).toBe(200);
    expect(await orderRow(s, order.id)).toMatchObject({ status: 'PENDING', version: order.version });
    expect(await s.sql(`select 1 from payment where order_id = $1`, [order.id])).toHaveLength(0);
    await refundJobsDone();
    const refunds = refundsFor(pi);
    expect(refunds).toHaveLength(1);
    expect(refunds[0].body.amount).toBe(String(TOTAL - 1));
    expect(refunds[0].idempotencyKey).toBe(`refund:charge:${session.id}`);
    expect(await chargeOf(session.id)).toMatchObject({ outcome: 'MISMATCH', refund_status: 'SUCCEEDED', refund_ref: expect.stringMatching(/^re_/) });
    // Delivered again as another event: no second refund.
    expect((await postWebhook(s.url, checkoutEvent({ ...session, amount_total: TOTAL - 1, payment_intent: pi }))).status).toBe(200);
    await refundJobsDone();
    expect(refundsFor(pi)).toHaveLength(1);
  });

  test('another currency is not a payment either', async () => {
    const { order, session } = await checkout();
    const pi = `pi_${randomUUID()}`;
    expect((await postWebhook(s.url, checkoutEvent({ ...session, currency: 'eur', payment_intent: pi }))).status).toBe(200);
    expect(await orderRow(s, order.id)).toMatchObject({ status: 'PENDING' });
    expect(await chargeOf(session.id)).toMatchObject({ outcome: 'MISMATCH' });
    await refundJobsDone();
    expect(refundsFor(pi)).toHaveLength(1);
  });

  test('a payment arriving after the order was cancelled is refunded through Stripe; the order stays CANCELLED', async () => {
    const { c, order, session } = await checkout();
    expect(await cancelOrder(s, c, order.id)).toBeUndefined();
    const cancelled = await orderRow(s, order.id);
    const pi = `pi_${randomUUID()}`;
    // Paid at Stripe just before the cancellation expired the session there; the event arrives after.
    const res = await postWebhook(s.url, checkoutEvent({ ...session, payment_intent: pi }));
    expect(res.status).toBe(200);
    await refundJobsDone();
    const refunds = refundsFor(pi);
    expect(refunds).toHaveLength(1);
    expect(refunds[0]).toMatchObject({ method: 'POST', body: expect.objectContaining({ amount: String(TOTAL), payment_intent: pi }) });
    expect(refunds[0].idempotencyKey).toBeTruthy();
    expect(await orderRow(s, order.id)).toMatchObject({ status: 'CANCELLED', version: cancelled.version });
    expect(await chargeOf(session.id)).toMatchObject({ outcome: 'REFUNDED', refund_status: 'SUCCEEDED', refund_ref: expect.stringMatching(/^re_/) });
    expect(await s.sql(`select 1 from payment where order_id = $1`, [order.id])).toHaveLength(0);
    // The same payment reported again never refunds twice.
    expect((await postWebhook(s.url, checkoutEvent({ ...session, payment_intent: pi }, 'checkout.session.async_payment_succeeded'))).status).toBe(200);
    await refundJobsDone();
    expect(refundsFor(pi)).toHaveLength(1);
  });

  test('a gateway payment of an order already paid from the wallet is refunded; the order keeps its wallet payment', async () => {
    const { c, order, session } = await checkout();
    await credit(s, c.id, TOTAL);
    const paid = await s.gql(PAY_WALLET, { orderId: order.id }, c.token);
    expect(paid.errors).toBeUndefined();
    const pi = `pi_${randomUUID()}`;
    expect((await postWebhook(s.url, checkoutEvent({ ...session, payment_intent: pi }))).status).toBe(200);
    await refundJobsDone();
    expect(refundsFor(pi)).toHaveLength(1);
    expect(await orderRow(s, order.id)).toMatchObject({ status: 'PAID', payment_method: 'WALLET', version: paid.data!.payWithWallet.version });
    expect(await s.sql(`select method from payment where order_id = $1`, [order.id])).toEqual([{ method: 'WALLET' }]);
    expect(await chargeOf(session.id)).toMatchObject({ outcome: 'REFUNDED' });
    expect(await escrowOf(order.id)).toBe(TOTAL);
  });

  test('when Stripe is down during a late-payment refund the event is still taken (200) and the refund is retried until Stripe takes it, once', async () => {
    const { c, order, session } = await checkout();
    expect(await cancelOrder(s, c, order.id)).toBeUndefined();
    const pi = `pi_${randomUUID()}`;
    const event = checkoutEvent({ ...session, payment_intent: pi });
    stub.mode = 'error500';
    const taken = await postWebhook(s.url, event);
    expect(taken.status).toBe(200);
    expect(taken.body.outcome).toBe('processed');
    expect(await chargeOf(session.id)).toMatchObject({ outcome: 'REFUNDED', refund_status: 'PENDING', refund_ref: null });
    // The refund job has tried and failed at least once while Stripe is down.
    await until('a refund try while Stripe is down', async () => stub.requestsTo('/v1/refunds').some((r) => r.body.payment_intent === pi && r.outcome === 'error500'));
    expect((await postWebhook(s.url, event)).body.outcome).toBe('duplicate');
    stub.mode = 'ok';
    await refundJobsDone();
    expect(refundsFor(pi)).toHaveLength(1);
    expect(await chargeOf(session.id)).toMatchObject({ outcome: 'REFUNDED', refund_status: 'SUCCEEDED', refund_ref: expect.stringMatching(/^re_/) });
  });

  test('a session completed but not yet paid waits for async_payment_succeeded', async () => {
    const { order, session } = await checkout();
    expect((await postWebhook(s.url, checkoutEvent({ ...session, payment_status: 'unpaid', payment_intent: null }))).status).toBe(200);
    expect(await orderRow(s, order.id)).toMatchObject({ status: 'PENDING' });
    expect((await postWebhook(s.url, checkoutEvent(session, 'checkout.session.async_payment_succeeded'))).status).toBe(200);
    expect(await orderRow(s, order.id)).toMatchObject({ status: 'PAID', payment_method: 'GATEWAY' });
  });

  test('a paid session naming no order of ours is left alone: 2xx, no refund, nothing recorded', async () => {
    const pi = `pi_${randomUUID()}`;
    const sessionId = `cs_test_other_${randomUUID()}`;
    for (const orderId of [randomUUID(), 'someone-else']) {
      expect((await postWebhook(s.url, checkoutEvent({ id: sessionId, amount_total: 500, currency: 'usd', orderId, payment_intent: pi }))).status).toBe(200);
    }
    expect(refundsFor(pi)).toHaveLength(0);
    expect(await chargeOf(sessionId)).toBeUndefined();
  });

  test('a paid session this API did not open pays nothing, even when it names one of our orders: left alone and in the audit log', async () => {
    const c = await newCustomer(s);
    const order = await createOrder(s, c, planId);
    const pi = `pi_${randomUUID()}`;
    const sessionId = `cs_test_other_${randomUUID()}`;
    expect((await postWebhook(s.url, checkoutEvent({ id: sessionId, amount_total: TOTAL, currency: 'usd', orderId: order.id, payment_intent: pi }))).status).toBe(200);
    expect(await orderRow(s, order.id)).toMatchObject({ status: 'PENDING', version: 1 });
    expect(refundsFor(pi)).toHaveLength(0);
    expect(await chargeOf(sessionId)).toBeUndefined();
    expect(await s.sql(`select action, details ->> 'sessionId' as session from audit_entry where target_id = $1`, [order.id])).toEqual([{ action: 'foreignCheckoutIgnored', session: sessionId }]);
  });

  test("a paid session pays the order it was opened for, whatever order the event's metadata names", async () => {
    const c = await newCustomer(s);
    const a = await openCheckout(s, planId, c);
    const b = await openCheckout(s, planId, c);
    const pi = `pi_${randomUUID()}`;
    expect((await postWebhook(s.url, checkoutEvent({ id: a.sessionId, amount_total: TOTAL, currency: 'usd', orderId: b.order.id, payment_intent: pi }))).status).toBe(200);
    expect(await orderRow(s, a.order.id)).toMatchObject({ status: 'PAID', payment_method: 'GATEWAY' });
    expect(await orderRow(s, b.order.id)).toMatchObject({ status: 'PENDING', version: 1 });
    expect(await s.sql(`select order_id, status from checkout_session where id = any($1) order by order_id = $2 desc`, [[a.sessionId, b.sessionId], a.order.id])).toEqual([
      { order_id: a.order.id, status: 'COMPLETED' },
      { order_id: b.order.id, status: 'OPEN' },
    ]);
    expect(refundsFor(pi)).toHaveLength(0);
  });

  test('unknown event types answer 2xx and change nothing', async () => {
    const { order } = await checkout();
    const res = await postWebhook(s.url, { id: `evt_${randomUUID()}`, object: 'event', type: 'customer.created', data: { object: { id: 'cus_1', object: 'customer' } } });
    expect(res.status).toBe(200);
    expect(res.body.outcome).toBe('ignored');
    expect(await orderRow(s, order.id)).toMatchObject({ status: 'PENDING' });
  });

  test('the development gateway is not served when Stripe keys are set', async () => {
    const res = await fetch(`${s.url}/dev-gateway/checkout/cs_dev_x`);
    expect(res.status).toBe(404);
  });
});

describe('refundOrder of a gateway payment', () => {
  async function paidThroughGateway() {
    const { c, order, session } = await checkout();
    const pi = `pi_${randomUUID()}`;
    expect((await postWebhook(s.url, checkoutEvent({ ...session, payment_intent: pi }))).status).toBe(200);
    return { c, order, pi, version: (await orderRow(s, order.id)).version };
  }

  test('refunds through Stripe once: order REFUNDED, delivery CANCELLED, escrow back to the clearing account; the refund PENDING until Stripe confirms it', async () => {
    const { order, pi, version } = await paidThroughGateway();
    const r = await s.gql(REFUND, { orderId: order.id }, await adminToken());
    expect(r.errors).toBeUndefined();
    expect(r.data!.refundOrder).toMatchObject({ status: 'REFUNDED', version: version + 1, delivery: { status: 'CANCELLED' } });
    expect(await escrowOf(order.id)).toBe(0);
    await refundJobsDone();
    const refunds = refundsFor(pi);
    expect(refunds).toHaveLength(1);
    expect(refunds[0].body.amount).toBe(String(TOTAL));
    const [refund] = await s.sql(`select id, status, gateway_ref, amount::int, error, settled_at from refund where order_id = $1`, [order.id]);
    expect(refund).toEqual({ id: expect.any(String), status: 'SUCCEEDED', gateway_ref: expect.stringMatching(/^re_/), amount: TOTAL, error: null, settled_at: expect.any(Date) });
    expect(refunds[0].body['metadata[refundId]']).toBe(refund.id);
    expect(codeOf(await s.gql(REFUND, { orderId: order.id }, await adminToken()))).toBe('ORDER_NOT_REFUNDABLE');
    await refundJobsDone();
    expect(refundsFor(pi)).toHaveLength(1);
  });

  test('Stripe down: the order is REFUNDED at once (refund PENDING), and the refund is retried until Stripe takes it, once', async () => {
    const { order, pi, version } = await paidThroughGateway();
    stub.mode = 'close';
    const r = await s.gql(REFUND, { orderId: order.id }, await adminToken());
    expect(r.errors).toBeUndefined();
    expect(await orderRow(s, order.id)).toMatchObject({ status: 'REFUNDED', version: version + 1 });
    expect(await s.sql(`select status from delivery where order_id = $1`, [order.id])).toEqual([{ status: 'CANCELLED' }]);
    expect(await escrowOf(order.id)).toBe(0);
    // The job's first try fails (every attempt closed) and is noted on the refund.
    const noted = await until('the failed try noted on the refund', async () => (await s.sql(`select status, error from refund where order_id = $1 and error is not null`, [order.id]))[0]);
    expect(noted).toMatchObject({ status: 'PENDING', error: expect.any(String) });
    stub.mode = 'ok';
    await refundJobsDone();
    expect(refundsFor(pi)).toHaveLength(1);
    expect(await s.sql(`select status, error from refund where order_id = $1`, [order.id])).toEqual([{ status: 'SUCCEEDED', error: null }]);
  });
});
