import { splitRelease } from '../../src/shared/money';
import { expectLedgerSound } from '../support/ledger-invariants';
import { PAY_WALLET, adminToken, createOrder, createProviderPlan, credit, newCustomer } from '../support/payments-fixtures';
import { startTestServer } from '../support/server';

test('the release uses the rates in force when the order was made, not those of the server that completes it', async () => {
  const first = await startTestServer({ TAX_RATE_BPS: '1500', PLATFORM_FEE_BPS: '2000', PROFIT_TAX_BPS: '1500' });
  let order: { id: string; total: number };
  let provider: { id: string; token: string };
  try {
    const plan = await createProviderPlan(first, 10_000);
    provider = plan.provider;
    const payer = await newCustomer(first);
    await credit(first, payer.id, 11_500);
    order = await createOrder(first, payer, plan.planId);
    expect(order.total).toBe(11_500);
    expect((await first.gql(PAY_WALLET, { orderId: order.id }, payer.token)).errors).toBeUndefined();
  } finally {
    await first.stop();
  }

  // Restarted with other rates; the provider completes the delivery there.
  const second = await startTestServer({ TAX_RATE_BPS: '500', PLATFORM_FEE_BPS: '5000', PROFIT_TAX_BPS: '0' }, { databaseUrl: first.databaseUrl });
  try {
    for (const status of ['IN_PROGRESS', 'REVIEWING', 'COMPLETED']) {
      const r = await second.gql(`mutation($o: ID!, $s: DeliveryStatus!) { setDeliveryStatus(orderId: $o, status: $s) { status } }`, { o: order.id, s: status }, provider.token);
      expect(r.errors).toBeUndefined();
    }
    const r = await second.gql(`query($o: ID!) { orderLedger(orderId: $o) { account kind amount { amount } } }`, { o: order.id }, await adminToken());
    const released = (r.data.orderLedger as Array<{ account: string; kind: string; amount: { amount: number } }>)
      .filter((l) => l.kind !== 'PAYMENT')
      .reduce<Record<string, number>>((acc, l) => ({ ...acc, [l.account]: (acc[l.account] ?? 0) + l.amount.amount }), {});
    // The contract's example: tax 1500 + 15 % of the 2000 fee to TAX, 1700 to PROFIT, 8000 to the provider.
    const expected = splitRelease(11_500, 1_500, 2000, 1500);
    expect(expected).toEqual({ tax: 1_800, profit: 1_700, provider: 8_000 });
    expect(released).toEqual({ ESCROW: -11_500, TAX: expected.tax, PROFIT: expected.profit, WALLET: expected.provider });
    const wallet = await second.gql(`{ wallet { balance { amount } } }`, {}, provider.token);
    expect(wallet.data.wallet.balance.amount).toBe(8_000);
    await expectLedgerSound(second.sql);
  } finally {
    await second.stop();
  }
});
