import { randomUUID } from 'node:crypto';
import { CreateCouponDocument, CreatePlanDocument, UpdatePlanDocument } from '../__generated__/graphql';
import { expectLedgerSound } from '../support/ledger-invariants';
import { PAY_WALLET, REFUND, adminToken, checkoutSessionOf, completeCheckout, credit, newCustomer, type TestCustomer } from '../support/payments-fixtures';
import { contiguous, record, until } from '../support/records';
import { codeOf, startTestServer, token, type TestServer } from '../support/server';
import { STRIPE_TEST_KEYS, chargeRefundedEvent, postWebhook, startStripeStub, type StripeStub } from '../support/stripe-stub';

/**
 * Order.payment, Order.refund, Order.receipt and Order.upgrades as bought, through the real server with
 * the real Stripe SDK against the stub: written in the transaction that pays or refunds, and a refund
 * gives back what the order took, once.
 */
jest.setTimeout(120_000);

let stub: StripeStub;
let s: TestServer;
let admin: string;

beforeAll(async () => {
  stub = await startStripeStub();
  s = await startTestServer({ ...STRIPE_TEST_KEYS, STRIPE_API_URL: stub.url, MUTATION_RATE_LIMIT: '100000' });
  admin = await adminToken();
});
afterAll(async () => {
  stub?.releaseRefunds();
  await s?.stop();
  await stub?.close();
});
beforeEach(() => {
  stub.mode = 'ok';
  stub.refundMode = 'ok';
});

/** A provider's plan (its orders stay PAID until the provider acts) with two upgrades and, optionally, a stock. */
async function plan(extra: Record<string, unknown> = {}): Promise<{ id: string; upgrades: Array<{ id: string; name: string }>; name: string }> {
  const provider = `prov-${randomUUID()}`;
  await s.gql(`{ me { id } }`, {}, await token(provider, 'provider'));
  const name = `Plan ${randomUUID().slice(0, 8)}`;
  const r = await s.gql(
    CreatePlanDocument,
    { input: { name, price: 2_000, providerId: provider, upgrades: [{ name: 'Priority support', price: 500 }, { name: 'Extra seat', price: 300 }], ...extra } },
    admin,
  );
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return { id: r.data!.createPlan.id, name, upgrades: r.data!.createPlan.upgrades.map((u) => ({ id: u.id, name: u.name })) };
}

async function order(c: TestCustomer, input: Record<string, unknown>): Promise<string> {
  const r = await s.gql(`mutation($input: CreateOrderInput!) { createOrder(input: $input) { id } }`, { input }, c.token);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data.createOrder.id;
}

async function coupon(extra: Record<string, unknown> = {}): Promise<{ id: string; code: string }> {
  const code = `REC${randomUUID().slice(0, 8)}`.toUpperCase();
  const r = await s.gql(CreateCouponDocument, { input: { code, kind: 'PERCENT', value: 10, ...extra } }, admin);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return { id: r.data!.createCoupon.id, code };
}

/** Pays an order through Stripe: checkout, the customer pays at the stub, Stripe's event arrives. Returns the PaymentIntent. */
const payThroughGateway = async (c: TestCustomer, orderId: string): Promise<string> => completeCheckout(s, stub, await checkoutSessionOf(s, c, orderId));

const journalsOf = async (orderId: string, kind: string) =>
  (await s.sql<{ journal_id: string }>(`select distinct journal_id from ledger_entry where order_id = $1 and kind = $2`, [orderId, kind])).map((r) => r.journal_id);

test('a wallet payment and its refund: payment with the ledger journal, receipt with the lines as bought, refund SUCCEEDED at once', async () => {
  const p = await plan();
  const cp = await coupon();
  const c = await newCustomer(s);
  await credit(s, c.id, 100_000);
  const orderId = await order(c, { planId: p.id, upgradeIds: [p.upgrades[1].id, p.upgrades[0].id], couponCode: cp.code });
  const before = await record(s, orderId, c.token);
  expect([before.payment, before.refund, before.receipt]).toEqual([null, null, null]);

  expect(codeOf(await s.gql(PAY_WALLET, { orderId }, c.token))).toBeUndefined();
  const paid = await record(s, orderId, c.token);
  // 2,000 + 300 + 500 = 2,800; 10% off = 280; tax 15% of 2,520 = 378; total 2,898.
  expect(paid.payment).toEqual({ method: 'WALLET', amount: { amount: 2_898, currency: 'USD' }, paidAt: expect.any(String), transactionId: (await journalsOf(orderId, 'PAYMENT'))[0] });
  expect(paid.receipt).toEqual({
    number: expect.stringMatching(/^RCT-\d{6,}$/),
    issuedAt: paid.payment!.paidAt,
    lines: [
      { description: p.name, amount: { amount: 2_000, currency: 'USD' } },
      { description: 'Extra seat', amount: { amount: 300, currency: 'USD' } },
      { description: 'Priority support', amount: { amount: 500, currency: 'USD' } },
      { description: `Discount (${cp.code})`, amount: { amount: -280, currency: 'USD' } },
    ],
    subtotal: { amount: 2_800 },
    discount: { amount: 280 },
    tax: { amount: 378 },
    total: { amount: 2_898 },
  });
  expect(paid.refund).toBeNull();

  expect(codeOf(await s.gql(REFUND, { orderId }, admin))).toBeUndefined();
  const refunded = await record(s, orderId, c.token);
  expect(refunded.refund).toEqual({
    amount: { amount: 2_898, currency: 'USD' },
    method: 'WALLET',
    status: 'SUCCEEDED',
    createdAt: expect.any(String),
    transactionId: (await journalsOf(orderId, 'REFUND'))[0],
  });
  expect(refunded.refund!.transactionId).not.toBe(paid.payment!.transactionId);
  // Payment and receipt stay as they were.
  expect([refunded.payment, refunded.receipt]).toEqual([paid.payment, paid.receipt]);
  await expectLedgerSound((text, params) => s.sql(text, params));
});

test('a gateway payment and its refund: the PaymentIntent, then the refund PENDING with no id until Stripe confirms it', async () => {
  const p = await plan();
  const c = await newCustomer(s);
  const orderId = await order(c, { planId: p.id });
  const pi = await payThroughGateway(c, orderId);
  const paid = await record(s, orderId, c.token);
  expect(paid.payment).toEqual({ method: 'GATEWAY', amount: { amount: 2_300, currency: 'USD' }, paidAt: expect.any(String), transactionId: pi });
  expect(paid.receipt!.lines).toEqual([{ description: p.name, amount: { amount: 2_000, currency: 'USD' } }]);
  expect(paid.receipt).toMatchObject({ subtotal: { amount: 2_000 }, discount: { amount: 0 }, tax: { amount: 300 }, total: { amount: 2_300 } });
  expect(contiguous(paid).map((e) => e.slice(1))).toEqual([
    ['PENDING', null, c.id],
    ['PAID', 'NEW', 'system:gateway'],
  ]);

  stub.refundMode = 'hang';
  expect(codeOf(await s.gql(REFUND, { orderId }, admin))).toBeUndefined();
  await until('the refund to reach Stripe', async () => stub.held() > 0);
  const pending = await record(s, orderId, c.token);
  expect(pending.refund).toEqual({ amount: { amount: 2_300, currency: 'USD' }, method: 'GATEWAY', status: 'PENDING', createdAt: expect.any(String), transactionId: null });

  stub.releaseRefunds();
  const settled = await until('the refund to be confirmed', async () => {
    const o = await record(s, orderId, c.token);
    return o.refund?.status === 'SUCCEEDED' ? o : null;
  });
  const [made] = stub.refundsOf(pi);
  expect(settled.refund).toMatchObject({ status: 'SUCCEEDED', transactionId: made.id });
});

test('a gateway refund Stripe reports pending is confirmed by charge.refunded; one Stripe refuses for good is FAILED', async () => {
  const p = await plan();
  const c = await newCustomer(s);
  const a = await order(c, { planId: p.id });
  const pi = await payThroughGateway(c, a);
  stub.refundMode = 'pending';
  expect(codeOf(await s.gql(REFUND, { orderId: a }, admin))).toBeUndefined();
  await until('the refund to reach Stripe', async () => stub.refundsOf(pi).length === 1);
  expect((await record(s, a, c.token)).refund).toMatchObject({ status: 'PENDING' });
  // Stripe settles it, and its charge.refunded lists the refund as succeeded.
  const [made] = stub.refundsOf(pi);
  made.status = 'succeeded';
  expect((await postWebhook(s.url, chargeRefundedEvent(pi, 2_300, [{ id: made.id as string, status: 'succeeded', metadata: made.metadata }]))).status).toBe(200);
  expect((await record(s, a, c.token)).refund).toMatchObject({ status: 'SUCCEEDED' });

  const b = await order(c, { planId: p.id });
  await payThroughGateway(c, b);
  stub.refundMode = 'refuse';
  expect(codeOf(await s.gql(REFUND, { orderId: b }, admin))).toBeUndefined();
  const failed = await until('the refund to be refused', async () => {
    const o = await record(s, b, c.token);
    return o.refund?.status === 'FAILED' ? o : null;
  });
  expect(failed).toMatchObject({ status: 'REFUNDED', refund: { status: 'FAILED', transactionId: null } });
});

test('upgrades and the plan as bought: later edits of the plan and its upgrades change neither the order nor its receipt', async () => {
  const p = await plan();
  const c = await newCustomer(s);
  await credit(s, c.id, 100_000);
  const orderId = await order(c, { planId: p.id, upgradeIds: [p.upgrades[0].id] });
  expect(codeOf(await s.gql(UpdatePlanDocument, { id: p.id, input: { name: 'Renamed plan', price: 9_999 } }, admin))).toBeUndefined();
  // There is no mutation that edits an upgrade; the catalogue's own row changes all the same.
  await s.sql(`update plan_upgrade set name = 'Renamed upgrade', price = 7777 where id = $1`, [p.upgrades[0].id]);

  const o = await record(s, orderId, c.token);
  expect(o.upgrades).toEqual([{ id: p.upgrades[0].id, name: 'Priority support', price: { amount: 500, currency: 'USD' } }]);
  expect(codeOf(await s.gql(PAY_WALLET, { orderId }, c.token))).toBeUndefined();
  const paid = await record(s, orderId, c.token);
  expect(paid.receipt!.lines.map((l) => [l.description, l.amount.amount])).toEqual([
    [p.name, 2_000],
    ['Priority support', 500],
  ]);
  expect(paid.upgrades).toEqual(o.upgrades);
});

test('a refund gives back the unit of stock and the coupon use, once: a second refund or a cancel gives back nothing more', async () => {
  const p = await plan({ stock: 1 });
  const cp = await coupon({ maxUses: 1, maxUsesPerUser: 1 });
  const c = await newCustomer(s);
  await credit(s, c.id, 100_000);
  const orderId = await order(c, { planId: p.id, couponCode: cp.code });
  expect(codeOf(await s.gql(PAY_WALLET, { orderId }, c.token))).toBeUndefined();
  const held = async () => ({
    stockUsed: Number((await s.sql(`select stock_used from plan where id = $1`, [p.id]))[0].stock_used),
    couponUses: Number((await s.sql(`select coalesce(sum(used), 0) as used_count from coupon_use where coupon_id = $1`, [cp.id]))[0].used_count),
  });
  expect(await held()).toEqual({ stockUsed: 1, couponUses: 1 });
  // Sold out, coupon used up: another customer can have neither.
  const other = await newCustomer(s);
  expect(codeOf(await s.gql(`mutation($input: CreateOrderInput!) { createOrder(input: $input) { id } }`, { input: { planId: p.id } }, other.token))).toBe('OUT_OF_STOCK');

  // Two admins refund at once: one wins, the other is refused, and what was taken comes back once.
  const answers = await Promise.all([s.gql(REFUND, { orderId }, admin), s.gql(REFUND, { orderId }, await token(`admin-${randomUUID()}`, 'admin'))]);
  expect(answers.map(codeOf).sort()).toEqual(['ORDER_NOT_REFUNDABLE', undefined]);
  expect(await held()).toEqual({ stockUsed: 0, couponUses: 0 });
  expect(codeOf(await s.gql(REFUND, { orderId }, admin))).toBe('ORDER_NOT_REFUNDABLE');
  expect(codeOf(await s.gql(`mutation($id: ID!) { cancelOrder(orderId: $id) { id } }`, { id: orderId }, admin))).toBe('ORDER_NOT_CANCELLABLE');
  expect(await held()).toEqual({ stockUsed: 0, couponUses: 0 });

  // The unit and the coupon are there to be bought again, by the same customer too.
  const again = await order(c, { planId: p.id, couponCode: cp.code });
  expect((await record(s, again, c.token)).discount.amount).toBe(200);
  expect(await held()).toEqual({ stockUsed: 1, couponUses: 1 });
});

test('receipt numbers are unique and increasing when payments race', async () => {
  const p = await plan();
  const customers = await Promise.all(Array.from({ length: 12 }, () => newCustomer(s)));
  const orders = await Promise.all(
    customers.map(async (c) => {
      await credit(s, c.id, 10_000);
      return { c, id: await order(c, { planId: p.id }) };
    }),
  );
  const answers = await Promise.all(orders.map(({ c, id }) => s.gql(PAY_WALLET, { orderId: id }, c.token)));
  expect(answers.map(codeOf)).toEqual(Array(12).fill(undefined));
  const num = (n: string) => Number(n.replace('RCT-', ''));
  const numbers = await Promise.all(orders.map(async ({ c, id }) => (await record(s, id, c.token)).receipt!.number));
  expect(new Set(numbers).size).toBe(12);
  for (const n of numbers) expect(n).toMatch(/^RCT-\d{6,}$/);

  // A payment made after them all gets a larger number than any of them.
  const late = await newCustomer(s);
  await credit(s, late.id, 10_000);
  const lateOrder = await order(late, { planId: p.id });
  expect(codeOf(await s.gql(PAY_WALLET, { orderId: lateOrder }, late.token))).toBeUndefined();
  const lateNumber = num((await record(s, lateOrder, late.token)).receipt!.number);
  expect(lateNumber).toBeGreaterThan(Math.max(...numbers.map(num)));
  // The database holds one receipt per order and one order per number.
  await expect(s.sql(`update receipt set number = 'RCT-000000' where order_id = $1`, [lateOrder])).rejects.toThrow(/never changed or deleted/);
});
