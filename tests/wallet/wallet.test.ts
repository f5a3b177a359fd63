import { randomUUID } from 'node:crypto';
import { encodeCursor } from '../../src/shared/cursor';
import { expectLedgerSound } from '../support/ledger-invariants';
import {
  CREDIT,
  PAY_WALLET,
  REFUND,
  WALLET,
  adminToken,
  balanceOf,
  createOrder,
  createPlan,
  createProviderPlan,
  credit,
  newCustomer,
  orderRow,
} from '../support/payments-fixtures';
import { codeOf, startTestServer, token, type TestServer } from '../support/server';
import { until } from '../support/until';

let s: TestServer;
/** Delivered by a provider: its paid orders stay PAID. */
let planId: string;
/** Delivered automatically by the worker. */
let autoPlanId: string;
beforeAll(async () => {
  s = await startTestServer();
  planId = (await createProviderPlan(s, 2000)).planId;
  autoPlanId = await createPlan(s, 2000);
});
afterAll(async () => {
  await expectLedgerSound(s.sql);
  await s.stop();
});

const TOTAL = 2300; // 2000 + 15 % tax

describe('creditWallet', () => {
  test('an admin credits a wallet; the customer sees the balance and a CREDIT entry', async () => {
    const c = await newCustomer(s);
    const r = await s.gql(CREDIT, { customerId: c.id, amount: 5000, reference: `ref-${randomUUID()}` }, await adminToken());
    expect(r.errors).toBeUndefined();
    expect(r.data!.creditWallet.balance).toEqual({ amount: 5000, currency: 'USD' });
    const w = await s.gql(WALLET, {}, c.token);
    expect(w.data!.wallet.balance.amount).toBe(5000);
    expect(w.data!.wallet.transactions.edges.map((e: any) => e.node)).toEqual([
      expect.objectContaining({ amount: { amount: 5000, currency: 'USD' }, kind: 'CREDIT', orderId: null }),
    ]);
    const [entry] = await s.sql(`select actor from ledger_entry where customer_id = $1`, [c.id]);
    expect(entry.actor).toBe('admin-payments');
  });

  test('the same reference twice credits once and returns the wallet unchanged', async () => {
    const c = await newCustomer(s);
    const reference = `ref-${randomUUID()}`;
    expect(await credit(s, c.id, 700, reference)).toBe(700);
    expect(await credit(s, c.id, 700, reference)).toBe(700);
    expect(await balanceOf(s, c.id)).toBe(700);
  });

  test.each([
    ['zero amount', { amount: 0 }, 'amount'],
    ['negative amount', { amount: -5 }, 'amount'],
    ['an absurd amount', { amount: 100_000_001 }, 'amount'],
    ['an empty reference', { reference: '' }, 'reference'],
    ['a reference over 200 characters', { reference: 'r'.repeat(201) }, 'reference'],
    ['a reference with control characters', { reference: 'r\u0001\u007f' }, 'reference'],
  ])('%s is BAD_USER_INPUT and changes nothing', async (_name, override, field) => {
    const c = await newCustomer(s);
    const r = await s.gql(CREDIT, { customerId: c.id, amount: 100, reference: `ref-${randomUUID()}`, ...override }, await adminToken());
    expect(codeOf(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0].extensions!.field).toBe(field);
    expect(await balanceOf(s, c.id)).toBe(0);
  });

  test('an unknown customer is NOT_FOUND; a non-admin is FORBIDDEN', async () => {
    const r = await s.gql(CREDIT, { customerId: `nobody-${randomUUID()}`, amount: 100, reference: `ref-${randomUUID()}` }, await adminToken());
    expect(codeOf(r)).toBe('NOT_FOUND');
    const c = await newCustomer(s);
    const self = await s.gql(CREDIT, { customerId: c.id, amount: 100, reference: `ref-${randomUUID()}` }, c.token);
    expect(codeOf(self)).toBe('FORBIDDEN');
    expect(await balanceOf(s, c.id)).toBe(0);
  });
});

describe('wallet', () => {
  test('transactions are newest first, paged with opaque cursors, and only the caller’s own', async () => {
    const c = await newCustomer(s);
    const other = await newCustomer(s);
    for (const amount of [100, 200, 300, 400, 500]) await credit(s, c.id, amount);
    await credit(s, other.id, 999);

    const first = await s.gql(WALLET, { first: 2 }, c.token);
    expect(first.data!.wallet.balance.amount).toBe(1500);
    expect(first.data!.wallet.transactions.edges.map((e: any) => e.node.amount.amount)).toEqual([500, 400]);
    expect(first.data!.wallet.transactions.pageInfo.hasNextPage).toBe(true);
    const second = await s.gql(WALLET, { first: 2, after: first.data!.wallet.transactions.pageInfo.endCursor }, c.token);
    expect(second.data!.wallet.transactions.edges.map((e: any) => e.node.amount.amount)).toEqual([300, 200]);
    const third = await s.gql(WALLET, { first: 2, after: second.data!.wallet.transactions.pageInfo.endCursor }, c.token);
    expect(third.data!.wallet.transactions.edges.map((e: any) => e.node.amount.amount)).toEqual([100]);
    expect(third.data!.wallet.transactions.pageInfo).toEqual({ hasNextPage: false, endCursor: third.data!.wallet.transactions.edges[0].cursor });

    const theirs = await s.gql(WALLET, {}, other.token);
    expect(theirs.data!.wallet.balance.amount).toBe(999);
    expect(theirs.data!.wallet.transactions.edges).toHaveLength(1);
  });

  test('a new customer has an empty wallet; bad paging arguments are BAD_USER_INPUT; no token is UNAUTHENTICATED', async () => {
    const c = await newCustomer(s);
    const w = await s.gql(WALLET, {}, c.token);
    expect(w.data!.wallet).toEqual({ balance: { amount: 0, currency: 'USD' }, transactions: { edges: [], pageInfo: { hasNextPage: false, endCursor: null } } });
    expect(codeOf(await s.gql(WALLET, { first: 0 }, c.token))).toBe('BAD_USER_INPUT');
    expect(codeOf(await s.gql(WALLET, { first: 101 }, c.token))).toBe('BAD_USER_INPUT');
    expect(codeOf(await s.gql(WALLET, { after: 'not-a-cursor' }, c.token))).toBe('BAD_USER_INPUT');
    expect(codeOf(await s.gql(WALLET, {}))).toBe('UNAUTHENTICATED');
  });
});

describe('wallet cursors', () => {
  test('a cursor whose number overflows bigint (19 nines) or a timestamp is BAD_USER_INPUT on `after`, not an internal error', async () => {
    const c = await newCustomer(s);
    await credit(s, c.id, 100);
    const id = randomUUID();
    const at = (micros: string) => encodeCursor({ micros, id });
    for (const after of [at('9999999999999999999'), at('9223372036854775807'), at('253402300800000000')]) {
      const r = await s.gql(WALLET, { after }, c.token);
      expect(codeOf(r)).toBe('BAD_USER_INPUT');
      expect(r.errors![0].extensions!.field).toBe('after');
    }
    expect((await s.gql(WALLET, { after: at('253402300799999999') }, c.token)).data!.wallet.transactions.edges).toHaveLength(1);
  });
});

describe('payWithWallet', () => {
  test('pays a pending order: PAID by WALLET, delivery NEW, version + 1, wallet debited into escrow', async () => {
    const c = await newCustomer(s);
    await credit(s, c.id, 5000);
    const order = await createOrder(s, c, planId);
    expect(order.total).toBe(TOTAL);
    const [{ unpaid_orders: before }] = await s.sql(`select unpaid_orders from customer where id = $1`, [c.id]);

    const r = await s.gql(PAY_WALLET, { orderId: order.id }, c.token);
    expect(r.errors).toBeUndefined();
    expect(r.data!.payWithWallet).toMatchObject({
      id: order.id,
      status: 'PAID',
      paymentMethod: 'WALLET',
      expiresAt: null,
      version: order.version + 1,
      delivery: { status: 'NEW' },
    });
    expect(r.data!.payWithWallet.paidAt).toEqual(expect.any(String));
    expect(await balanceOf(s, c.id)).toBe(5000 - TOTAL);
    const [{ unpaid_orders: after }] = await s.sql(`select unpaid_orders from customer where id = $1`, [c.id]);
    expect(after).toBe(before - 1);
    const [{ held }] = await s.sql(`select sum(amount)::int as held from ledger_entry where account = 'ESCROW' and order_id = $1`, [order.id]);
    expect(held).toBe(TOTAL);
    const payments = await s.sql(`select method, amount::int, payer_id from payment where order_id = $1`, [order.id]);
    expect(payments).toEqual([{ method: 'WALLET', amount: TOTAL, payer_id: c.id }]);

    const w = await s.gql(WALLET, { first: 1 }, c.token);
    expect(w.data!.wallet.transactions.edges[0].node).toMatchObject({ amount: { amount: -TOTAL }, kind: 'PAYMENT', orderId: order.id });

    // Paid once: a second payment is refused and changes nothing.
    const again = await s.gql(PAY_WALLET, { orderId: order.id }, c.token);
    expect(codeOf(again)).toBe('ORDER_NOT_PAYABLE');
    expect(await balanceOf(s, c.id)).toBe(5000 - TOTAL);
  });

  test('INSUFFICIENT_BALANCE changes nothing', async () => {
    const c = await newCustomer(s);
    await credit(s, c.id, TOTAL - 1);
    const order = await createOrder(s, c, planId);
    const r = await s.gql(PAY_WALLET, { orderId: order.id }, c.token);
    expect(codeOf(r)).toBe('INSUFFICIENT_BALANCE');
    expect(await orderRow(s, order.id)).toMatchObject({ status: 'PENDING', version: order.version, payment_method: null });
    expect(await balanceOf(s, c.id)).toBe(TOTAL - 1);
    expect(await s.sql(`select 1 from payment where order_id = $1`, [order.id])).toHaveLength(0);
    expect(await s.sql(`select 1 from delivery where order_id = $1`, [order.id])).toHaveLength(0);
  });

  test('another customer cannot pay an order (FORBIDDEN); unknown and malformed ids are NOT_FOUND', async () => {
    const owner = await newCustomer(s);
    const thief = await newCustomer(s);
    await credit(s, thief.id, 10_000);
    const order = await createOrder(s, owner, planId);
    expect(codeOf(await s.gql(PAY_WALLET, { orderId: order.id }, thief.token))).toBe('FORBIDDEN');
    expect(codeOf(await s.gql(PAY_WALLET, { orderId: randomUUID() }, thief.token))).toBe('NOT_FOUND');
    expect(codeOf(await s.gql(PAY_WALLET, { orderId: 'not-a-uuid' }, thief.token))).toBe('NOT_FOUND');
    expect(codeOf(await s.gql(PAY_WALLET, { orderId: order.id }))).toBe('UNAUTHENTICATED');
    expect(await orderRow(s, order.id)).toMatchObject({ status: 'PENDING' });
    expect(await balanceOf(s, thief.id)).toBe(10_000);
  });
});

describe('refundOrder', () => {
  test('an admin refunds a wallet payment: money back to the wallet, order REFUNDED, delivery CANCELLED, version + 1', async () => {
    const c = await newCustomer(s);
    await credit(s, c.id, TOTAL);
    const order = await createOrder(s, c, planId);
    const paid = await s.gql(PAY_WALLET, { orderId: order.id }, c.token);
    expect(paid.errors).toBeUndefined();
    expect(await balanceOf(s, c.id)).toBe(0);

    // The customer cannot refund their own order.
    expect(codeOf(await s.gql(REFUND, { orderId: order.id }, c.token))).toBe('FORBIDDEN');

    const r = await s.gql(REFUND, { orderId: order.id }, await adminToken());
    expect(r.errors).toBeUndefined();
    expect(r.data!.refundOrder).toMatchObject({ status: 'REFUNDED', version: paid.data!.payWithWallet.version + 1, delivery: { status: 'CANCELLED' } });
    expect(await balanceOf(s, c.id)).toBe(TOTAL);
    const [{ held }] = await s.sql(`select coalesce(sum(amount), 0)::int as held from ledger_entry where account = 'ESCROW' and order_id = $1`, [order.id]);
    expect(held).toBe(0);
    const w = await s.gql(WALLET, { first: 1 }, c.token);
    expect(w.data!.wallet.transactions.edges[0].node).toMatchObject({ amount: { amount: TOTAL }, kind: 'REFUND', orderId: order.id });

    // Refunded once.
    expect(codeOf(await s.gql(REFUND, { orderId: order.id }, await adminToken()))).toBe('ORDER_NOT_REFUNDABLE');
    expect(await balanceOf(s, c.id)).toBe(TOTAL);
  });

  test('only a PAID order with an unfinished delivery is refundable', async () => {
    const admin = await adminToken();
    const c = await newCustomer(s);
    const pending = await createOrder(s, c, planId);
    expect(codeOf(await s.gql(REFUND, { orderId: pending.id }, admin))).toBe('ORDER_NOT_REFUNDABLE');
    expect(codeOf(await s.gql(REFUND, { orderId: randomUUID() }, admin))).toBe('NOT_FOUND');
    expect(codeOf(await s.gql(REFUND, { orderId: 'nope' }, admin))).toBe('NOT_FOUND');

    // Once delivered (the worker completes an automatic delivery), the money stays where the release put it.
    await credit(s, c.id, TOTAL);
    const order = await createOrder(s, c, autoPlanId);
    expect((await s.gql(PAY_WALLET, { orderId: order.id }, c.token)).errors).toBeUndefined();
    await until('the automatic delivery to complete', async () => (await orderRow(s, order.id)).status === 'DELIVERED', 15_000);
    expect(codeOf(await s.gql(REFUND, { orderId: order.id }, admin))).toBe('ORDER_NOT_REFUNDABLE');
    expect(await orderRow(s, order.id)).toMatchObject({ status: 'DELIVERED' });
    expect(await balanceOf(s, c.id)).toBe(0);
  });

  test('an admin cancelling the delivery refunds the order through the same refund core, one version step', async () => {
    const c = await newCustomer(s);
    await credit(s, c.id, TOTAL);
    const order = await createOrder(s, c, planId);
    const paid = await s.gql(PAY_WALLET, { orderId: order.id }, c.token);
    expect(paid.errors).toBeUndefined();
    const r = await s.gql(
      `mutation($orderId: ID!) { setDeliveryStatus(orderId: $orderId, status: CANCELLED) { status version delivery { status } } }`,
      { orderId: order.id },
      await adminToken(),
    );
    expect(r.errors).toBeUndefined();
    expect(r.data.setDeliveryStatus).toEqual({ status: 'REFUNDED', version: paid.data!.payWithWallet.version + 1, delivery: { status: 'CANCELLED' } });
    expect(await balanceOf(s, c.id)).toBe(TOTAL);
    expect(await s.sql(`select amount::int from refund where order_id = $1`, [order.id])).toEqual([{ amount: TOTAL }]);
  });

  test('a non-admin cannot refund', async () => {
    const c = await newCustomer(s);
    const r = await s.gql(REFUND, { orderId: randomUUID() }, await token(c.id, 'provider'));
    expect(codeOf(r)).toBe('FORBIDDEN');
  });
});
