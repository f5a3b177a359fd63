import { PENDING_JOBS } from '../support/jobs';
import { expectLedgerSound } from '../support/ledger-invariants';
import {
  PAY_GATEWAY,
  PAY_WALLET,
  balanceOf,
  completeCheckout,
  createOrder,
  credit,
  newCustomer,
  openCheckout,
  orderRow,
  startGatewayServer,
  type GatewayServer,
} from '../support/payments-fixtures';
import { codeOf, type TestServer } from '../support/server';
import type { StripeStub } from '../support/stripe-stub';
import { until } from '../support/until';

/**
 * An order past its `expiresAt` cannot be paid even while the timeout job is late: here no worker runs
 * at all (RUN_WORKER=false), so the orders stay PENDING after they expire. The refusal is made by the
 * guarded update itself; a gateway payment that arrives for such an order is a late payment.
 */
jest.setTimeout(60_000);

const TIMEOUT_SECONDS = 3;
let gateway: GatewayServer;
let stub: StripeStub;
let s: TestServer;
let planId: string;

beforeAll(async () => {
  gateway = await startGatewayServer({ RUN_WORKER: 'false', ORDER_PAYMENT_TIMEOUT_SECONDS: String(TIMEOUT_SECONDS) });
  ({ stub, s, planId } = gateway);
});
afterAll(async () => {
  await expectLedgerSound((text, params) => s.sql(text, params));
  await gateway?.stop();
});

const expired = (orderId: string) =>
  until('the order to pass its expiresAt', async () => (await s.sql(`select expires_at <= now() as past from "order" where id = $1`, [orderId]))[0].past === true, 15_000);

test('payWithWallet of an expired, still PENDING order: ORDER_NOT_PAYABLE, nothing debited', async () => {
  const c = await newCustomer(s);
  await credit(s, c.id, 5000);
  const order = await createOrder(s, c, planId);
  await expired(order.id);
  const r = await s.gql(PAY_WALLET, { orderId: order.id }, c.token);
  expect(codeOf(r)).toBe('ORDER_NOT_PAYABLE');
  expect(r.errors![0].message).toMatch(/expired/);
  expect(await orderRow(s, order.id)).toMatchObject({ status: 'PENDING', version: order.version });
  expect(await balanceOf(s, c.id)).toBe(5000);
  expect(await s.sql(`select 1 from payment where order_id = $1`, [order.id])).toHaveLength(0);
});

test('payWithGateway of an expired order: ORDER_NOT_PAYABLE, no session opened', async () => {
  const c = await newCustomer(s);
  const order = await createOrder(s, c, planId);
  await expired(order.id);
  const before = stub.requestsTo('/v1/checkout/sessions').length;
  expect(codeOf(await s.gql(PAY_GATEWAY, { orderId: order.id }, c.token))).toBe('ORDER_NOT_PAYABLE');
  expect(stub.requestsTo('/v1/checkout/sessions').length).toBe(before);
  expect(await s.sql(`select 1 from checkout_session where order_id = $1`, [order.id])).toHaveLength(0);
});

test('a gateway payment confirmed after expiresAt is a late payment: recorded for a refund, the order keeps its state', async () => {
  const { order, sessionId } = await openCheckout(s, planId);
  // Stripe keeps the session open for 30 minutes at least: the customer can still pay it there.
  await expired(order.id);
  await completeCheckout(s, stub, sessionId);
  expect(await orderRow(s, order.id)).toMatchObject({ status: 'PENDING', version: order.version, payment_method: null });
  expect(await s.sql(`select 1 from payment where order_id = $1`, [order.id])).toHaveLength(0);
  // No worker here: the refund waits, recorded, for the job that sends it.
  expect(await s.sql(`select outcome, refund_status from gateway_charge where session_id = $1`, [sessionId])).toEqual([{ outcome: 'REFUNDED', refund_status: 'PENDING' }]);
  expect(await s.sql(`select 1 from ${PENDING_JOBS} where task = 'send_refund' and key = $1`, [`send_refund:charge:${sessionId}`])).toHaveLength(1);
  expect(await s.sql(`select status from checkout_session where id = $1`, [sessionId])).toEqual([{ status: 'COMPLETED' }]);
});
