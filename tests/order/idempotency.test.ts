import { counters, createCoupon, createOrder, createPlan, expectError, newCustomer, rowCounts } from '../support/orders';
import { startTestServer, token, type GqlResult, type TestServer } from '../support/server';

/**
 * `createOrder`'s idempotencyKey (CONTRACT.md, Limits): the same key with the same input answers the
 * first order; with other input (plan, upgrades as a set, coupon as normalised) it is BAD_USER_INPUT
 * and creates nothing, also when both requests arrive at once.
 */
let a: TestServer;
let b: TestServer;
beforeAll(async () => {
  a = await startTestServer({ DB_POOL_SIZE: '12' });
  b = await startTestServer({ DB_POOL_SIZE: '12' }, { databaseUrl: a.databaseUrl });
});
afterAll(() => Promise.all([a?.stop(), b?.stop()]));

/** A customer whose row exists (the race is about orders, not about a first request). */
async function knownCustomer(s: TestServer): Promise<{ id: string; tok: string }> {
  const id = newCustomer();
  const tok = await token(id);
  await s.gql(`{ me { id } }`, {}, tok);
  return { id, tok };
}

test('the same key with another plan, other upgrades or another coupon is BAD_USER_INPUT and creates nothing', async () => {
  const plan = await createPlan(a, { stock: 10, upgrades: [{ name: 'One', price: 100 }, { name: 'Two', price: 200 }] });
  const other = await createPlan(a, { stock: 10 });
  const [u1, u2] = plan.upgrades.map((u: { id: string }) => u.id);
  const coupon = await createCoupon(a, { maxUses: 10 });
  const otherCoupon = await createCoupon(a, { maxUses: 10 });
  const { id: customer, tok } = await knownCustomer(a);
  const key = 'checkout-7';
  const first = (await createOrder(a, tok, { planId: plan.id, upgradeIds: [u1, u2], couponCode: coupon.code, idempotencyKey: key })).data!.createOrder;
  const held = await counters(a, { planId: plan.id, couponId: coupon.id, customerId: customer });
  const before = await rowCounts(a);

  const mismatches = [
    { planId: other.id, upgradeIds: [], couponCode: coupon.code },
    { planId: plan.id, upgradeIds: [u1], couponCode: coupon.code },
    { planId: plan.id, upgradeIds: [], couponCode: coupon.code },
    { planId: plan.id, upgradeIds: [u1, u2], couponCode: otherCoupon.code },
    { planId: plan.id, upgradeIds: [u1, u2] },
  ];
  for (const input of mismatches) {
    const ext = expectError(await createOrder(a, tok, { ...input, idempotencyKey: key }), 'BAD_USER_INPUT');
    expect(ext.field).toBe('idempotencyKey');
  }
  expect(await rowCounts(a)).toEqual(before);
  expect(await counters(a, { planId: plan.id, couponId: coupon.id, customerId: customer })).toEqual(held);

  // The same request, upgrades in another order and the code in another case with spaces, is the first order.
  const again = await createOrder(a, tok, { planId: plan.id, upgradeIds: [u2, u1], couponCode: `  ${coupon.code.toLowerCase()} `, idempotencyKey: key });
  expect(again.errors).toBeUndefined();
  expect(again.data!.createOrder).toEqual(first);
  expect(await rowCounts(a)).toEqual(before);
});

test('without a coupon or upgrades, the same request is the first order and a coupon added later is refused', async () => {
  const plan = await createPlan(a);
  const coupon = await createCoupon(a);
  const { tok } = await knownCustomer(a);
  const first = (await createOrder(a, tok, { planId: plan.id, idempotencyKey: 'k' })).data!.createOrder;
  expect((await createOrder(a, tok, { planId: plan.id, upgradeIds: [], idempotencyKey: 'k' })).data!.createOrder).toEqual(first);
  expectError(await createOrder(a, tok, { planId: plan.id, couponCode: coupon.code, idempotencyKey: 'k' }), 'BAD_USER_INPUT');
});

test('20 requests with one key at once, half for another plan: one order; the same input gets it, the other BAD_USER_INPUT', async () => {
  const planA = await createPlan(a, { stock: 20 });
  const planB = await createPlan(a, { stock: 20 });
  const { id: customer, tok } = await knownCustomer(a);
  const plans = Array.from({ length: 20 }, (_, i) => (i % 4 < 2 ? planA.id : planB.id));
  const rs: GqlResult[] = await Promise.all(plans.map((planId, i) => createOrder(i % 2 ? b : a, tok, { planId, idempotencyKey: 'pay-button' })));

  const orders = await a.sql<{ id: string; plan_id: string }>(`select id, plan_id from "order" where customer_id = $1`, [customer]);
  expect(orders).toHaveLength(1);
  const [order] = orders;
  rs.forEach((r, i) => {
    if (plans[i] === order.plan_id) {
      expect(r.errors).toBeUndefined();
      expect(r.data!.createOrder.id).toBe(order.id);
    } else {
      expect(r.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect(r.errors?.[0].extensions?.field).toBe('idempotencyKey');
    }
  });
  expect((await counters(a, { planId: planA.id })).stockUsed + (await counters(a, { planId: planB.id })).stockUsed).toBe(1);
  expect((await counters(a, { customerId: customer })).unpaid).toBe(1);
});
