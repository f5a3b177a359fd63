import { randomUUID } from 'node:crypto';
import { PENDING_JOBS } from '../support/jobs';
import { expectLedgerSound } from '../support/ledger-invariants';
import {
  CANCEL_ORDER,
  CREDIT,
  PAY_WALLET,
  adminToken,
  balanceOf,
  createOrder,
  createProviderPlan,
  credit,
  newCustomer,
  openCheckout,
  orderRow,
} from '../support/payments-fixtures';
import { codeOf, startTestServer, type GqlResult, type TestServer } from '../support/server';
import { STRIPE_TEST_KEYS, checkoutEvent, postWebhook, startStripeStub, type StripeStub } from '../support/stripe-stub';
import { until } from '../support/until';

/**
 * Payments racing each other, on two server instances sharing one database: whatever arrives at once,
 * an order is paid at most once, a wallet never goes below zero, and the books balance afterwards.
 */
let stub: StripeStub;
let a: TestServer;
let b: TestServer;
let planId: string;
const TOTAL = 2300;

beforeAll(async () => {
  stub = await startStripeStub();
  const env = { ...STRIPE_TEST_KEYS, STRIPE_API_URL: stub.url, MAX_UNPAID_ORDERS: '50', MUTATION_RATE_LIMIT: '10000' };
  a = await startTestServer(env);
  b = await startTestServer(env, { databaseUrl: a.databaseUrl });
  planId = (await createProviderPlan(a, 2000)).planId;
});
afterAll(async () => {
  await b?.stop();
  await a?.stop();
  await stub?.close();
});

/** Sends the i-th request to one instance or the other. */
const either = (i: number) => (i % 2 === 0 ? a : b);
const codes = (results: GqlResult[]) => results.map((r) => codeOf(r) ?? 'OK');
const count = (list: string[], v: string) => list.filter((x) => x === v).length;

test('two orders, a balance that covers one, 20 payments at once: one PAID, the other INSUFFICIENT_BALANCE, balance 0', async () => {
  const c = await newCustomer(a);
  await credit(a, c.id, TOTAL);
  const first = await createOrder(a, c, planId);
  const second = await createOrder(a, c, planId);
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => either(i).gql(PAY_WALLET, { orderId: (i % 4 < 2 ? first : second).id }, c.token)),
  );
  const outcome = codes(results);
  expect(count(outcome, 'OK')).toBe(1);
  expect(outcome.every((c) => ['OK', 'INSUFFICIENT_BALANCE', 'ORDER_NOT_PAYABLE'].includes(c))).toBe(true);
  const statuses = [(await orderRow(a, first.id)).status, (await orderRow(a, second.id)).status].sort();
  expect(statuses).toEqual(['PAID', 'PENDING']);
  const loser = (await orderRow(a, first.id)).status === 'PENDING' ? first : second;
  const loserCodes = results.filter((_, i) => (i % 4 < 2 ? first : second) === loser).map((r) => codeOf(r));
  expect(new Set(loserCodes)).toEqual(new Set(['INSUFFICIENT_BALANCE']));
  expect(await balanceOf(a, c.id)).toBe(0);
});

test('one order paid 20 times at once is paid once', async () => {
  const c = await newCustomer(a);
  await credit(a, c.id, TOTAL * 20);
  const order = await createOrder(a, c, planId);
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => either(i).gql(PAY_WALLET, { orderId: order.id }, c.token)));
  const outcome = codes(results);
  expect(count(outcome, 'OK')).toBe(1);
  expect(count(outcome, 'ORDER_NOT_PAYABLE')).toBe(19);
  expect(await balanceOf(a, c.id)).toBe(TOTAL * 19);
  expect(await a.sql(`select 1 from payment where order_id = $1`, [order.id])).toHaveLength(1);
  expect(await orderRow(a, order.id)).toMatchObject({ status: 'PAID', version: order.version + 1 });
});

test('payments against cancellations, 20 at once: exactly one side wins', async () => {
  const c = await newCustomer(a);
  await credit(a, c.id, TOTAL);
  const order = await createOrder(a, c, planId);
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => either(i).gql(i % 2 === 0 ? PAY_WALLET : CANCEL_ORDER, { orderId: order.id }, c.token)),
  );
  const pays = codes(results.filter((_, i) => i % 2 === 0));
  const cancels = codes(results.filter((_, i) => i % 2 === 1));
  expect(count(pays, 'OK') + count(cancels, 'OK')).toBe(1);
  const row = await orderRow(a, order.id);
  expect(row.version).toBe(order.version + 1);
  if (row.status === 'PAID') {
    expect(count(cancels, 'ORDER_NOT_CANCELLABLE')).toBe(10);
    expect(await balanceOf(a, c.id)).toBe(0);
  } else {
    expect(row.status).toBe('CANCELLED');
    expect(count(pays, 'ORDER_NOT_PAYABLE')).toBe(10);
    expect(await balanceOf(a, c.id)).toBe(TOTAL);
  }
  const [{ unpaid_orders }] = await a.sql(`select unpaid_orders from customer where id = $1`, [c.id]);
  expect(unpaid_orders).toBe(0);
});

test('wallet payments against the gateway’s webhook, 20 at once: paid once, and a losing gateway payment is refunded once', async () => {
  const c = await newCustomer(a);
  await credit(a, c.id, TOTAL);
  const { order, sessionId } = await openCheckout(a, planId, c);
  const pi = `pi_${randomUUID()}`;
  const event = checkoutEvent({ id: sessionId, amount_total: TOTAL, currency: 'usd', orderId: order.id, payment_intent: pi });

  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      i % 2 === 0 ? either(i / 2).gql(PAY_WALLET, { orderId: order.id }, c.token) : postWebhook(either((i - 1) / 2).url, event),
    ),
  );
  const wallet = codes(results.filter((_, i) => i % 2 === 0) as GqlResult[]);
  const hooks = results.filter((_, i) => i % 2 === 1).map((r) => r.status);
  expect(hooks).toEqual(Array(10).fill(200));
  expect(await a.sql(`select method from payment where order_id = $1`, [order.id])).toHaveLength(1);
  const row = await orderRow(a, order.id);
  expect(row).toMatchObject({ status: 'PAID', version: order.version + 1 });
  // A losing gateway payment is refunded by a job after its event's commit.
  await until('the refund jobs to finish', async () => Number((await a.sql(`select count(*) from ${PENDING_JOBS} where task = 'send_refund'`))[0].count) === 0);
  const refunds = stub.requestsTo('/v1/refunds').filter((r) => r.body.payment_intent === pi);
  if (row.payment_method === 'WALLET') {
    expect(count(wallet, 'OK')).toBe(1);
    expect(refunds).toHaveLength(1);
    expect(await balanceOf(a, c.id)).toBe(0);
  } else {
    expect(count(wallet, 'ORDER_NOT_PAYABLE')).toBe(10);
    expect(refunds).toHaveLength(0);
    expect(await balanceOf(a, c.id)).toBe(TOTAL);
  }
});

test('creditWallet with one reference, 12 times at once, credits once', async () => {
  const c = await newCustomer(a);
  const admin = await adminToken();
  const reference = `ref-${randomUUID()}`;
  const results = await Promise.all(Array.from({ length: 12 }, (_, i) => either(i).gql(CREDIT, { customerId: c.id, amount: 1000, reference }, admin)));
  expect(codes(results)).toEqual(Array(12).fill('OK'));
  expect(await balanceOf(a, c.id)).toBe(1000);
  expect(await a.sql(`select 1 from ledger_entry where customer_id = $1`, [c.id])).toHaveLength(1);
});

test('after the races the books balance', async () => {
  await expectLedgerSound(a.sql);
});
