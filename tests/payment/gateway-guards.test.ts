import { randomUUID } from 'node:crypto';
import { PAY_GATEWAY, REFUND, adminToken, createOrder, createProviderPlan, newCustomer, orderRow, type TestCustomer, type TestOrder } from '../support/payments-fixtures';
import { codeOf, startTestServer, type TestServer } from '../support/server';
import { STRIPE_TEST_KEYS, checkoutEvent, postWebhook, startStripeStub, type StripeStub } from '../support/stripe-stub';
import { until } from '../support/until';

/**
 * What the gateway's webhook and payWithGateway refuse or leave alone: a refund Stripe still has pending
 * is not taken as done because `charge.refunded` came (Stripe sends it when a refund is created), a
 * signed body that is no event is refused, and a free order is sent to payWithWallet.
 */
jest.setTimeout(90_000);

let stub: StripeStub;
let s: TestServer;
let planId: string;
const TOTAL = 2300;

beforeAll(async () => {
  stub = await startStripeStub();
  s = await startTestServer({ ...STRIPE_TEST_KEYS, STRIPE_API_URL: stub.url, MUTATION_RATE_LIMIT: '100000' });
  planId = (await createProviderPlan(s, 2000)).planId;
});
afterAll(async () => {
  await s?.stop();
  await stub?.close();
});
beforeEach(() => {
  stub.mode = 'ok';
  stub.refundMode = 'ok';
});

/** A pending order with its open Checkout Session id. */
async function checkout(c?: TestCustomer): Promise<{ c: TestCustomer; order: TestOrder; sessionId: string }> {
  c ??= await newCustomer(s);
  const order = await createOrder(s, c, planId);
  const r = await s.gql(PAY_GATEWAY, { orderId: order.id }, c.token);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return { c, order, sessionId: r.data!.payWithGateway.checkoutUrl.split('/').pop()! };
}

/** Stripe's `charge.refunded` as sent when the refunds are created: `amount_refunded` counts pending ones too. */
const chargeRefunded = (pi: string, refunds: Array<{ id: string; status: string; metadata: unknown }>) => ({
  id: `evt_${randomUUID()}`,
  object: 'event',
  type: 'charge.refunded',
  data: {
    object: {
      id: `ch_${randomUUID()}`,
      object: 'charge',
      payment_intent: pi,
      amount: TOTAL,
      amount_refunded: TOTAL,
      refunded: true,
      refunds: { object: 'list', data: refunds.map((r) => ({ object: 'refund', ...r })) },
    },
  },
});

test('charge.refunded listing the order’s refund as pending leaves it PENDING (the job keeps asking Stripe)', async () => {
  const { sessionId } = await checkout();
  const pi = `pi_${randomUUID()}`;
  const order = (await s.sql(`select order_id from checkout_session where id = $1`, [sessionId]))[0].order_id as string;
  expect((await postWebhook(s.url, stub.completeCheckout(sessionId, { paymentIntent: pi }))).status).toBe(200);
  stub.refundMode = 'pending';
  expect((await s.gql(REFUND, { orderId: order }, await adminToken())).data!.refundOrder.status).toBe('REFUNDED');
  const noted = await until('the pending refund to carry Stripe’s id', async () => (await s.sql(`select status, gateway_ref from refund where order_id = $1 and gateway_ref is not null`, [order]))[0]);
  expect(noted.status).toBe('PENDING');
  const [made] = stub.refundsOf(pi);

  const res = await postWebhook(s.url, chargeRefunded(pi, [{ id: made.id as string, status: 'pending', metadata: made.metadata }]));
  expect(res).toMatchObject({ status: 200, body: { outcome: 'processed' } });
  expect((await s.sql(`select status, gateway_ref from refund where order_id = $1`, [order]))[0]).toEqual({ status: 'PENDING', gateway_ref: made.id });
  // The job goes on asking Stripe where the refund stands, and it is still PENDING after being told again.
  const asked = stub.requests.filter((r) => r.method === 'GET' && r.path === `/v1/refunds/${made.id as string}`).length;
  await until('the refund job to ask Stripe again', () => stub.requests.filter((r) => r.method === 'GET' && r.path === `/v1/refunds/${made.id as string}`).length > asked, 40_000);
  expect((await s.sql(`select status from refund where order_id = $1`, [order]))[0]).toEqual({ status: 'PENDING' });
});

test('charge.refunded listing the refund of a late payment as pending leaves it PENDING', async () => {
  const { c, order, sessionId } = await checkout();
  expect(codeOf(await s.gql(`mutation($o: ID!) { cancelOrder(orderId: $o) { status } }`, { o: order.id }, c.token))).toBeUndefined();
  const pi = `pi_${randomUUID()}`;
  stub.refundMode = 'pending';
  const late = await postWebhook(s.url, checkoutEvent({ id: sessionId, amount_total: TOTAL, currency: 'usd', orderId: order.id, payment_intent: pi }));
  expect(late).toMatchObject({ status: 200, body: { outcome: 'processed' } });
  const noted = await until('the pending charge refund to carry Stripe’s id', async () => (await s.sql(`select refund_status, refund_ref from gateway_charge where session_id = $1 and refund_ref is not null`, [sessionId]))[0]);
  expect(noted.refund_status).toBe('PENDING');
  const [made] = stub.refundsOf(pi);

  const res = await postWebhook(s.url, chargeRefunded(pi, [{ id: made.id as string, status: 'pending', metadata: made.metadata }]));
  expect(res).toMatchObject({ status: 200, body: { outcome: 'processed' } });
  expect((await s.sql(`select refund_status, refund_ref from gateway_charge where session_id = $1`, [sessionId]))[0]).toEqual({ refund_status: 'PENDING', refund_ref: made.id });
});

test('charge.refunded listing the refund as succeeded settles it SUCCEEDED', async () => {
  const { sessionId } = await checkout();
  const pi = `pi_${randomUUID()}`;
  const order = (await s.sql(`select order_id from checkout_session where id = $1`, [sessionId]))[0].order_id as string;
  expect((await postWebhook(s.url, stub.completeCheckout(sessionId, { paymentIntent: pi }))).status).toBe(200);
  stub.refundMode = 'pending';
  expect((await s.gql(REFUND, { orderId: order }, await adminToken())).data!.refundOrder.status).toBe('REFUNDED');
  await until('the pending refund to carry Stripe’s id', async () => (await s.sql(`select 1 from refund where order_id = $1 and gateway_ref is not null`, [order])).length === 1);
  const [made] = stub.refundsOf(pi);
  expect((await postWebhook(s.url, chargeRefunded(pi, [{ id: made.id as string, status: 'succeeded', metadata: made.metadata }]))).status).toBe(200);
  expect((await s.sql(`select status from refund where order_id = $1`, [order]))[0]).toEqual({ status: 'SUCCEEDED' });
});

test.each([
  ['null', null],
  ['an array', [1]],
  ['an event without an id', { type: 'charge.refunded', data: { object: {} } }],
  ['an event with a numeric id', { id: 42, type: 'charge.refunded', data: { object: {} } }],
  ['an event without a type', { id: `evt_${randomUUID()}`, data: { object: {} } }],
])('a signed body that is %s is refused with 400 and nothing is stored', async (_what, body) => {
  const before = Number((await s.sql(`select count(*) from gateway_event`))[0].count);
  const res = await postWebhook(s.url, body as object);
  expect(res.status).toBe(400);
  expect(await s.sql(`select id from gateway_event where id in ('undefined', 'null', '42')`)).toEqual([]);
  expect(Number((await s.sql(`select count(*) from gateway_event`))[0].count)).toBe(before);
});

test('payWithGateway of an order whose total is 0 is BAD_USER_INPUT pointing to payWithWallet; the order stays PENDING', async () => {
  const free = (await createProviderPlan(s, 0)).planId;
  const c = await newCustomer(s);
  const order = await createOrder(s, c, free);
  expect(order.total).toBe(0);
  const r = await s.gql(PAY_GATEWAY, { orderId: order.id }, c.token);
  expect(codeOf(r)).toBe('BAD_USER_INPUT');
  expect(r.errors![0].message).toMatch(/nothing to pay through the gateway; use payWithWallet/i);
  expect(await orderRow(s, order.id)).toMatchObject({ status: 'PENDING', version: order.version });
  expect(await s.sql(`select 1 from checkout_session where order_id = $1`, [order.id])).toHaveLength(0);
});
