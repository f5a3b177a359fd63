import { randomUUID } from 'node:crypto';
import {
  GATEWAY_PLAN_TOTAL as TOTAL,
  PAY_GATEWAY,
  REFUND,
  adminToken,
  createOrder,
  createProviderPlan,
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
 * What the gateway's webhook and payWithGateway refuse or leave alone: a refund Stripe still has pending
 * is not taken as done because `charge.refunded` came (Stripe sends it when a refund is created), a
 * signed body that is no event is refused, and a free order is sent to payWithWallet.
 */
jest.setTimeout(90_000);

let gateway: GatewayServer;
let stub: StripeStub;
let s: TestServer;
beforeAll(async () => {
  gateway = await startGatewayServer({ MUTATION_RATE_LIMIT: '100000' });
  ({ stub, s } = gateway);
});
afterAll(() => gateway?.stop());
beforeEach(() => {
  stub.mode = 'ok';
  stub.refundMode = 'ok';
});

/**
 * An order paid through Stripe and refunded by an admin while Stripe answers refunds `pending`: the
 * order is REFUNDED at once and its refund, still PENDING, carries Stripe's refund. Returns that refund.
 */
async function refundedPending(): Promise<{ order: string; pi: string; made: Record<string, unknown> }> {
  const { order, pi } = await paidThroughGateway(gateway);
  stub.refundMode = 'pending';
  expect((await s.gql(REFUND, { orderId: order.id }, await adminToken())).data!.refundOrder.status).toBe('REFUNDED');
  const noted = await until('the pending refund to carry Stripe’s id', async () => (await s.sql(`select status, gateway_ref from refund where order_id = $1 and gateway_ref is not null`, [order.id]))[0]);
  expect(noted.status).toBe('PENDING');
  const [made] = stub.refundsOf(pi);
  return { order: order.id, pi, made };
}

test('charge.refunded listing the order’s refund as pending leaves it PENDING (the job keeps asking Stripe)', async () => {
  const { order, pi, made } = await refundedPending();

  const res = await postWebhook(s.url, chargeRefundedEvent(pi, TOTAL, [{ id: made.id as string, status: 'pending', metadata: made.metadata }]));
  expect(res).toMatchObject({ status: 200, body: { outcome: 'processed' } });
  expect((await s.sql(`select status, gateway_ref from refund where order_id = $1`, [order]))[0]).toEqual({ status: 'PENDING', gateway_ref: made.id });
  // The job goes on asking Stripe where the refund stands, and it is still PENDING after being told again.
  const asked = stub.requests.filter((r) => r.method === 'GET' && r.path === `/v1/refunds/${made.id as string}`).length;
  await until('the refund job to ask Stripe again', () => stub.requests.filter((r) => r.method === 'GET' && r.path === `/v1/refunds/${made.id as string}`).length > asked, 40_000);
  expect((await s.sql(`select status from refund where order_id = $1`, [order]))[0]).toEqual({ status: 'PENDING' });
});

test('charge.refunded listing the refund of a late payment as pending leaves it PENDING', async () => {
  const { c, order, sessionId } = await openCheckout(s, gateway.planId);
  expect(codeOf(await s.gql(`mutation($o: ID!) { cancelOrder(orderId: $o) { status } }`, { o: order.id }, c.token))).toBeUndefined();
  const pi = `pi_${randomUUID()}`;
  stub.refundMode = 'pending';
  const late = await postWebhook(s.url, checkoutEvent({ id: sessionId, amount_total: TOTAL, currency: 'usd', orderId: order.id, payment_intent: pi }));
  expect(late).toMatchObject({ status: 200, body: { outcome: 'processed' } });
  const noted = await until('the pending charge refund to carry Stripe’s id', async () => (await s.sql(`select refund_status, refund_ref from gateway_charge where session_id = $1 and refund_ref is not null`, [sessionId]))[0]);
  expect(noted.refund_status).toBe('PENDING');
  const [made] = stub.refundsOf(pi);

  const res = await postWebhook(s.url, chargeRefundedEvent(pi, TOTAL, [{ id: made.id as string, status: 'pending', metadata: made.metadata }]));
  expect(res).toMatchObject({ status: 200, body: { outcome: 'processed' } });
  expect((await s.sql(`select refund_status, refund_ref from gateway_charge where session_id = $1`, [sessionId]))[0]).toEqual({ refund_status: 'PENDING', refund_ref: made.id });
});

test('charge.refunded listing the refund as succeeded settles it SUCCEEDED', async () => {
  const { order, pi, made } = await refundedPending();
  expect((await postWebhook(s.url, chargeRefundedEvent(pi, TOTAL, [{ id: made.id as string, status: 'succeeded', metadata: made.metadata }]))).status).toBe(200);
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
