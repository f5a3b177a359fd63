import { afterHolderCommits } from '../support/locks';
import { PAY_WALLET, createOrder, createProviderPlan, credit, newCustomer } from '../support/payments-fixtures';
import { startTestServer, type TestServer } from '../support/server';

/**
 * A delivery's provider is held by the database without locking the provider's row (not a foreign key:
 * migrations/Migration20261206080000_DeliveryProviderWithoutLocks.ts): payments of one provider's plans
 * do not queue on it, and a delivery still cannot name a provider that does not exist, nor a provider
 * that deliveries name be deleted.
 */

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s?.stop());

/** A paid order of a provider's plan: its delivery names the provider. */
async function paidProviderOrder() {
  const { planId, provider } = await createProviderPlan(s, 500);
  const buyer = await newCustomer(s);
  await credit(s, buyer.id, 10_000);
  const order = await createOrder(s, buyer, planId);
  const paid = await s.gql(PAY_WALLET, { orderId: order.id }, buyer.token);
  expect(paid.errors).toBeUndefined();
  return { planId, provider, order };
}

test('payments side by side of one provider\'s plan leave the provider\'s row unlocked', async () => {
  const { planId, provider } = await createProviderPlan(s, 500);
  const buyers = await Promise.all(Array.from({ length: 12 }, () => newCustomer(s)));
  await Promise.all(buyers.map((b) => credit(s, b.id, 10_000)));
  const orders = await Promise.all(buyers.map((b) => createOrder(s, b, planId)));
  // A row's xmax names its last locker; a foreign key would lock the provider's row once per payment.
  const [before] = await s.sql<{ xmax: string }>(`select xmax::text as xmax from customer where id = $1`, [provider.id]);
  const paid = await Promise.all(buyers.map((b, i) => s.gql(PAY_WALLET, { orderId: orders[i].id }, b.token)));
  expect(paid.map((r) => r.errors?.[0]?.message ?? r.data!.payWithWallet.status)).toEqual(Array(12).fill('PAID'));
  expect(await s.sql(`select xmax::text as xmax from customer where id = $1`, [provider.id])).toEqual([before]);
  expect(await s.sql(`select count(*)::int as n from delivery where provider_id = $1`, [provider.id])).toEqual([{ n: 12 }]);
});

test('a delivery that names a provider who does not exist is refused, written or changed', async () => {
  const { order } = await paidProviderOrder();
  await expect(s.sql(`update delivery set provider_id = 'nobody-' || gen_random_uuid() where order_id = $1`, [order.id])).rejects.toMatchObject({ code: '23503' });
  await s.sql(`delete from delivery where order_id = $1`, [order.id]);
  await expect(
    s.sql(`insert into delivery (id, order_id, provider_id, status, attempts) values (uuid_v7(), $1, 'nobody-' || gen_random_uuid(), 'NEW', 0)`, [order.id]),
  ).rejects.toMatchObject({ code: '23503' });
  expect(await s.sql(`select count(*)::int as n from delivery where order_id = $1`, [order.id])).toEqual([{ n: 0 }]);
});

test('a customer that deliveries name as provider is not deleted, and a delete waits for a transaction writing such a delivery', async () => {
  const { provider, order } = await paidProviderOrder();
  await expect(s.sql(`delete from customer where id = $1`, [provider.id])).rejects.toThrow(/provider of deliveries/);

  // Another provider, named by no delivery yet: a delivery naming it is being written while it is deleted.
  const other = await newCustomer(s, 'prov');
  const { waited, error } = await afterHolderCommits(s.databaseUrl, [`update delivery set provider_id = $1 where order_id = $2`, [other.id, order.id]], [`delete from customer where id = $1`, [other.id]]);
  expect(waited).toBe(true);
  expect(error?.message).toMatch(/provider of deliveries/);
  expect(await s.sql(`select count(*)::int as n from customer where id = any($1)`, [[provider.id, other.id]])).toEqual([{ n: 2 }]);
});
