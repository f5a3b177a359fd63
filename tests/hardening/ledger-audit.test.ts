import { randomUUID } from 'node:crypto';
import { codeOf, startTestServer, token, type TestServer } from '../support/server';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ RUN_WORKER: 'false' });
});
afterAll(() => s?.stop());

const LEDGER = `query($o: ID!) { orderLedger(orderId: $o) { journalId account customerId amount { amount currency } kind actor createdAt } }`;

test('an admin reads every money movement of an order, with who caused it; others may not', async () => {
  const adminId = `admin-${randomUUID()}`;
  const admin = await token(adminId, 'admin');
  const buyer = `cust-${randomUUID()}`;
  const t = await token(buyer);
  const plan = await s.gql(`mutation { createPlan(input: { name: "Audited", price: 2000 }) { id } }`, {}, admin);
  const order = await s.gql(`mutation($i: CreateOrderInput!) { createOrder(input: $i) { id total { amount } } }`, { i: { planId: plan.data.createPlan.id } }, t);
  const { id, total } = order.data.createOrder;
  await s.gql(`mutation($c: ID!) { creditWallet(customerId: $c, amount: 10000, reference: "${randomUUID()}") { balance { amount } } }`, { c: buyer }, admin);
  expect((await s.gql(`mutation($o: ID!) { payWithWallet(orderId: $o) { status } }`, { o: id }, t)).data.payWithWallet.status).toBe('PAID');

  const r = await s.gql(LEDGER, { o: id }, admin);
  expect(r.errors).toBeUndefined();
  const lines = r.data.orderLedger as Array<{ journalId: string; account: string; customerId: string | null; amount: { amount: number; currency: string }; kind: string; actor: string }>;
  expect(lines.map((l) => [l.account, l.amount.amount, l.kind, l.actor, l.customerId]).sort()).toEqual(
    [
      ['ESCROW', total.amount, 'PAYMENT', buyer, null],
      ['WALLET', -total.amount, 'PAYMENT', buyer, buyer],
    ].sort(),
  );
  expect(new Set(lines.map((l) => l.journalId)).size).toBe(1);
  expect(lines.reduce((sum, l) => sum + l.amount.amount, 0)).toBe(0);

  expect(codeOf(await s.gql(LEDGER, { o: id }, t))).toBe('FORBIDDEN');
  expect(codeOf(await s.gql(LEDGER, { o: id }, null))).toBe('UNAUTHENTICATED');
  expect((await s.gql(LEDGER, { o: 'not-a-uuid' }, admin)).data.orderLedger).toEqual([]);
});
