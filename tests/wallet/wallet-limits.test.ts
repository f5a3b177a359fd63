import { randomUUID } from 'node:crypto';
import { expectLedgerSound } from '../support/ledger-invariants';
import {
  CREDIT,
  PAY_WALLET,
  REFUND,
  WALLET,
  adminToken,
  balanceOf,
  createOrder,
  createProviderPlan,
  credit,
  newCustomer,
} from '../support/payments-fixtures';
import { codeOf, startTestServer, type GqlResult, type TestServer } from '../support/server';

/**
 * What `creditWallet` promises (CONTRACT.md, Limits and Money): once per reference, a reference reused
 * for another customer or amount is BAD_USER_INPUT, and no balance passes 2,147,483,647 (GraphQL `Int`):
 * a credit that would is refused, and what a full wallet cannot take of a payout or a refund is kept for
 * its customer in the platform's PAYABLE account.
 */
const MAX = 2_147_483_647;
const BIG = 100_000_000; // the largest single credit

let a: TestServer;
let b: TestServer;
beforeAll(async () => {
  a = await startTestServer({ DB_POOL_SIZE: '12' });
  b = await startTestServer({ DB_POOL_SIZE: '12' }, { databaseUrl: a.databaseUrl });
});
afterAll(async () => {
  await expectLedgerSound(a.sql);
  await Promise.all([a?.stop(), b?.stop()]);
});

const creditCall = async (s: TestServer, customerId: string, amount: number, reference: string) => s.gql(CREDIT, { customerId, amount, reference }, await adminToken());

/** Credits `customerId` up to exactly `target` (from 0) in credits of at most {@link BIG}. */
async function fill(s: TestServer, customerId: string, target: number): Promise<void> {
  for (let left = target; left > 0; left -= Math.min(left, BIG)) await credit(s, customerId, Math.min(left, BIG));
  expect(await balanceOf(s, customerId)).toBe(target);
}

/** The wallet as its owner reads it through the API: it must always be readable. */
async function walletBalance(s: TestServer, tok: string): Promise<number> {
  const r = await s.gql(WALLET, { first: 5 }, tok);
  expect(r.errors).toBeUndefined();
  return r.data!.wallet.balance.amount;
}

const LEDGER = `query($o: ID!) { orderLedger(orderId: $o) { account customerId amount { amount } kind } }`;

describe('creditWallet references', () => {
  test('a reference reused for another customer or another amount is BAD_USER_INPUT and credits nothing', async () => {
    const c = await newCustomer(a);
    const other = await newCustomer(a);
    const reference = `ref-${randomUUID()}`;
    expect(await credit(a, c.id, 700, reference)).toBe(700);

    const otherCustomer = await creditCall(a, other.id, 700, reference);
    expect(codeOf(otherCustomer)).toBe('BAD_USER_INPUT');
    expect(otherCustomer.errors![0].extensions!.field).toBe('reference');
    const otherAmount = await creditCall(a, c.id, 701, reference);
    expect(codeOf(otherAmount)).toBe('BAD_USER_INPUT');
    expect(otherAmount.errors![0].extensions!.field).toBe('reference');
    expect(await balanceOf(a, c.id)).toBe(700);
    expect(await balanceOf(a, other.id)).toBe(0);

    // The very same call again is still answered with the wallet, unchanged.
    expect(await credit(a, c.id, 700, reference)).toBe(700);
    expect(await a.sql(`select count(*)::int as n from ledger_entry where customer_id = $1`, [c.id])).toEqual([{ n: 1 }]);
  });

  test('10 different credits with one reference at once on two instances: one credits, the other 9 are BAD_USER_INPUT', async () => {
    const customers = await Promise.all(Array.from({ length: 2 }, () => newCustomer(a)));
    const reference = `ref-${randomUUID()}`;
    const calls = Array.from({ length: 10 }, (_, i) => ({ customerId: customers[i % 2].id, amount: 100 + i }));
    const rs = await Promise.all(calls.map((c, i) => creditCall(i % 2 ? b : a, c.customerId, c.amount, reference)));
    const won = rs.map((r, i) => ({ r, c: calls[i] })).filter(({ r }) => !r.errors);
    expect(won).toHaveLength(1);
    expect(rs.filter((r) => r.errors).map((r) => [codeOf(r), r.errors![0].extensions!.field])).toEqual(Array(9).fill(['BAD_USER_INPUT', 'reference']));
    const winner = won[0].c;
    expect(won[0].r.data!.creditWallet.balance.amount).toBe(winner.amount);
    expect(await balanceOf(a, winner.customerId)).toBe(winner.amount);
    const loser = customers.find((c) => c.id !== winner.customerId)!;
    expect(await balanceOf(a, loser.id)).toBe(0);
  });
});

describe('the most a wallet may hold', () => {
  test('22 credits of 100,000,000: the 22nd is BAD_USER_INPUT, and the wallet stays readable', async () => {
    const c = await newCustomer(a);
    await fill(a, c.id, 21 * BIG);
    const r = await creditCall(a, c.id, BIG, `ref-${randomUUID()}`);
    expect(codeOf(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0].extensions!.field).toBe('amount');
    expect(await walletBalance(a, c.token)).toBe(21 * BIG);
    // Up to the limit itself is fine.
    expect(await credit(a, c.id, MAX - 21 * BIG)).toBe(MAX);
    expect(codeOf(await creditCall(a, c.id, 1, `ref-${randomUUID()}`))).toBe('BAD_USER_INPUT');
    expect(await walletBalance(a, c.token)).toBe(MAX);
  });

  test('10 credits of 10,000,000 at once, room for 4: exactly 4 succeed, on two instances', async () => {
    const c = await newCustomer(a);
    await fill(a, c.id, 21 * BIG);
    const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => creditCall(i % 2 ? b : a, c.id, 10_000_000, `ref-${randomUUID()}`)));
    expect(rs.filter((r) => !r.errors)).toHaveLength(4);
    expect(rs.filter((r) => r.errors).map(codeOf)).toEqual(Array(6).fill('BAD_USER_INPUT'));
    expect(await walletBalance(a, c.token)).toBe(21 * BIG + 4 * 10_000_000);
  });
});

describe('money owed to a full wallet', () => {
  /** Moves a provider's delivery to COMPLETED, step by step. */
  async function complete(s: TestServer, orderId: string, providerToken: string): Promise<void> {
    for (const status of ['IN_PROGRESS', 'REVIEWING', 'COMPLETED']) {
      const r: GqlResult = await s.gql(`mutation($o: ID!, $s: DeliveryStatus!) { setDeliveryStatus(orderId: $o, status: $s) { status } }`, { o: orderId, s: status }, providerToken);
      expect(r.errors).toBeUndefined();
    }
  }

  test("a payout to a nearly full provider wallet: the wallet takes what fits, the rest is held in PAYABLE for the provider", async () => {
    const { planId, provider } = await createProviderPlan(a, 2_000_000);
    const payer = await newCustomer(a);
    await credit(a, payer.id, 2_300_000);
    const order = await createOrder(a, payer, planId);
    expect((await a.gql(PAY_WALLET, { orderId: order.id }, payer.token)).errors).toBeUndefined();
    const room = 483_647;
    await fill(a, provider.id, MAX - room);

    await complete(a, order.id, provider.token);
    // Net 2,000,000, fee 20 %: the provider's share is 1,600,000, of which 483,647 fit.
    expect(await walletBalance(a, provider.token)).toBe(MAX);
    const lines = (await a.gql(LEDGER, { o: order.id }, await adminToken())).data.orderLedger as Array<{ account: string; customerId: string | null; amount: { amount: number }; kind: string }>;
    const payout = lines.filter((l) => l.kind === 'PAYOUT');
    expect(payout).toEqual(
      expect.arrayContaining([
        { account: 'WALLET', customerId: provider.id, amount: { amount: room }, kind: 'PAYOUT' },
        { account: 'PAYABLE', customerId: provider.id, amount: { amount: 1_600_000 - room }, kind: 'PAYOUT' },
      ]),
    );
    expect(payout).toHaveLength(2);
    // The provider's history shows what reached the wallet only.
    const history = (await a.gql(WALLET, { first: 1 }, provider.token)).data!.wallet.transactions.edges[0].node;
    expect(history).toMatchObject({ amount: { amount: room }, kind: 'PAYOUT', orderId: order.id });
    await expectLedgerSound(a.sql);
  });

  test('a payout to a full wallet goes to PAYABLE whole; the delivery still completes', async () => {
    const { planId, provider } = await createProviderPlan(a, 1000);
    const payer = await newCustomer(a);
    await credit(a, payer.id, 1150);
    const order = await createOrder(a, payer, planId);
    expect((await a.gql(PAY_WALLET, { orderId: order.id }, payer.token)).errors).toBeUndefined();
    await fill(a, provider.id, MAX);
    await complete(a, order.id, provider.token);
    expect(await walletBalance(a, provider.token)).toBe(MAX);
    const lines = (await a.gql(LEDGER, { o: order.id }, await adminToken())).data.orderLedger as Array<{ account: string; kind: string; amount: { amount: number } }>;
    expect(lines.filter((l) => l.kind === 'PAYOUT')).toEqual([{ account: 'PAYABLE', customerId: provider.id, amount: { amount: 800 }, kind: 'PAYOUT' }]);
  });

  test('a wallet refund to a wallet topped up since: the wallet takes what fits, the rest is held in PAYABLE for the payer', async () => {
    const { planId } = await createProviderPlan(a, 2_000_000);
    const payer = await newCustomer(a);
    await credit(a, payer.id, 2_300_000);
    const order = await createOrder(a, payer, planId);
    expect((await a.gql(PAY_WALLET, { orderId: order.id }, payer.token)).errors).toBeUndefined();
    const room = 1_000;
    await fill(a, payer.id, MAX - room);

    const r = await a.gql(REFUND, { orderId: order.id }, await adminToken());
    expect(r.errors).toBeUndefined();
    expect(r.data!.refundOrder.status).toBe('REFUNDED');
    expect(await walletBalance(a, payer.token)).toBe(MAX);
    const lines = (await a.gql(LEDGER, { o: order.id }, await adminToken())).data.orderLedger as Array<{ account: string; kind: string }>;
    expect(lines.filter((l) => l.kind === 'REFUND' && l.account !== 'ESCROW')).toEqual(
      expect.arrayContaining([
        { account: 'WALLET', customerId: payer.id, amount: { amount: room }, kind: 'REFUND' },
        { account: 'PAYABLE', customerId: payer.id, amount: { amount: 2_300_000 - room }, kind: 'REFUND' },
      ]),
    );
    await expectLedgerSound(a.sql);
  });
});
