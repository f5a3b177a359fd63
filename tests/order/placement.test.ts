import { CancelOrderDocument, MeDocument } from '../__generated__/graphql';
import { adminToken, counters, createCoupon, createOrder, createPlan, expectError, newCustomer } from '../support/orders';
import { codeOf, startTestServer, token, type TestServer } from '../support/server';
import { until } from '../support/until';

/**
 * An instance remembers what the last order of a plan (with its upgrades and coupon) was placed with,
 * so the next one is a single statement; that statement re-checks all of it as it writes. Whatever
 * changes in between, by the API or straight in the database, the next order follows it at once.
 */

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.stop());

/** A plan with one upgrade, and a first order of it (with the upgrade), so the next order is placed from memory. */
async function remembered(input: Parameters<typeof createPlan>[1] = {}, couponCode?: string) {
  const plan = await createPlan(s, { price: 1000, upgrades: [{ name: 'Extra', price: 200 }], ...input });
  const upgradeIds = [plan.upgrades[0].id];
  const first = await createOrder(s, await token(newCustomer()), { planId: plan.id, upgradeIds, couponCode });
  expect(first.errors).toBeUndefined();
  return { plan, upgradeIds, order: (tok: string) => createOrder(s, tok, { planId: plan.id, upgradeIds, couponCode }) };
}

test('prices follow the plan and its upgrades at once, also when changed straight in the database', async () => {
  const { plan, order } = await remembered();
  expect((await order(await token(newCustomer()))).data!.createOrder.subtotal.amount).toBe(1200);
  await s.sql(`update plan set price = 1500 where id = $1`, [plan.id]);
  expect((await order(await token(newCustomer()))).data!.createOrder.subtotal.amount).toBe(1700);
  await s.sql(`update plan_upgrade set price = 300, name = 'Bigger' where id = $1`, [plan.upgrades[0].id]);
  const o = (await order(await token(newCustomer()))).data!.createOrder;
  expect(o.subtotal.amount).toBe(1800);
  const [row] = await s.sql(`select plan_price, upgrades from "order" where id = $1`, [o.id]);
  expect(row).toEqual({ plan_price: 1500, upgrades: [{ id: plan.upgrades[0].id, name: 'Bigger', price: 300 }] });
});

test('a plan hidden, limited to another group, or given a stock of 0 since is refused as without memory', async () => {
  const hidden = await remembered();
  await s.sql(`update plan set sale_status = 'HIDDEN' where id = $1`, [hidden.plan.id]);
  expectError(await hidden.order(await token(newCustomer())), 'NOT_FOUND');

  const grouped = await remembered();
  await s.sql(`update plan set groups = '{vip}' where id = $1`, [grouped.plan.id]);
  expectError(await grouped.order(await token(newCustomer())), 'NOT_FOUND');
  const vip = newCustomer();
  const vipToken = await token(vip);
  await s.gql(MeDocument, {}, vipToken);
  await s.sql(`update customer set customer_group = 'vip' where id = $1`, [vip]);
  expect(codeOf(await grouped.order(vipToken))).toBeUndefined();
  // Moved out of the group straight in the database: refused on the next order.
  await s.sql(`update customer set customer_group = 'default' where id = $1`, [vip]);
  expectError(await grouped.order(vipToken), 'NOT_FOUND');

  const stocked = await remembered();
  await s.sql(`update plan set stock = 0 where id = $1`, [stocked.plan.id]);
  expectError(await stocked.order(await token(newCustomer())), 'OUT_OF_STOCK');
});

test('a coupon whose value changed since prices the next order with the new value', async () => {
  const coupon = await createCoupon(s, { kind: 'PERCENT', value: 10 });
  const { order } = await remembered({}, coupon.code);
  expect((await order(await token(newCustomer()))).data!.createOrder.discount.amount).toBe(120);
  await s.sql(`update coupon set value = 50 where id = $1`, [coupon.id]);
  expect((await order(await token(newCustomer()))).data!.createOrder.discount.amount).toBe(600);
  await s.gql(`mutation($id: ID!) { setCouponEnabled(id: $id, enabled: false) { id } }`, { id: coupon.id }, await adminToken());
  expect(expectError(await order(await token(newCustomer())), 'COUPON_INVALID').rejection).toBe('DISABLED');
});

test('a customer whose row was deleted since this instance saw them gets it back and their order', async () => {
  const { order } = await remembered();
  for (const known of [true, false]) {
    const id = newCustomer();
    const tok = await token(id);
    expect((await s.gql(MeDocument, {}, tok)).data?.me.id).toBe(id);
    await s.sql(`delete from customer where id = $1`, [id]);
    const r = known ? await order(tok) : await createOrder(s, tok, { planId: (await createPlan(s)).id });
    expect(r.errors).toBeUndefined();
    expect(await s.sql(`select customer_group, unpaid_orders from customer where id = $1`, [id])).toEqual([{ customer_group: 'default', unpaid_orders: 1 }]);
  }
});

test("a popular coupon's uses are counted in stripes: usedCount is their sum, cancels give theirs back, maxUses holds", async () => {
  const coupon = await createCoupon(s, { maxUses: 40 });
  expect(await s.sql(`select count(*)::int as n, sum(quota)::int as quota from coupon_use where coupon_id = $1`, [coupon.id])).toEqual([{ n: 16, quota: 40 }]);
  const plan = await createPlan(s);
  const customers = await Promise.all(Array.from({ length: 45 }, () => token(newCustomer())));
  const results = await Promise.all(customers.map((tok) => createOrder(s, tok, { planId: plan.id, couponCode: coupon.code })));
  const placed = results.filter((r) => !r.errors).map((r) => r.data!.createOrder.id);
  expect(placed).toHaveLength(40);
  expect(results.filter((r) => r.errors).map((r) => expectError(r, 'COUPON_INVALID').rejection)).toEqual(Array(5).fill('USAGE_LIMIT_REACHED'));
  const usedCount = async () => (await s.gql(`query($id: ID!) { coupon(id: $id) { usedCount } }`, { id: coupon.id }, await adminToken())).data!.coupon.usedCount;
  expect(await usedCount()).toBe(40);
  expect((await counters(s, { couponId: coupon.id })).couponUsed).toBe(40);

  const owner = results.findIndex((r) => !r.errors);
  expect((await s.gql(CancelOrderDocument, { orderId: placed[0] }, customers[owner])).errors).toBeUndefined();
  expect(await usedCount()).toBe(39);
  expect(codeOf(await createOrder(s, await token(newCustomer()), { planId: plan.id, couponCode: coupon.code }))).toBeUndefined();
  expect(expectError(await createOrder(s, await token(newCustomer()), { planId: plan.id, couponCode: coupon.code }), 'COUPON_INVALID').rejection).toBe('USAGE_LIMIT_REACHED');
  expect(await s.sql(`select count(*)::int as n from coupon_use where coupon_id = $1 and used > quota`, [coupon.id])).toEqual([{ n: 0 }]);
});

test("an order placed from memory whose connection's stripe is full takes its use from another: maxUses refuses only when all are full", async () => {
  const coupon = await createCoupon(s, { maxUses: 32 });
  const { order } = await remembered({}, coupon.code);
  // Every stripe full but one, which has room for two: whichever stripe a connection keeps to, most are full.
  await s.sql(`update coupon_use set used = case when stripe = 7 then 0 else quota end where coupon_id = $1`, [coupon.id]);
  for (let i = 0; i < 2; i++) expect(codeOf(await order(await token(newCustomer())))).toBeUndefined();
  expect(expectError(await order(await token(newCustomer())), 'COUPON_INVALID').rejection).toBe('USAGE_LIMIT_REACHED');
  expect(await s.sql(`select sum(used)::int as used, count(*) filter (where used > quota)::int as over from coupon_use where coupon_id = $1`, [coupon.id])).toEqual([
    { used: 32, over: 0 },
  ]);
});

test("a coupon whose window ended or has not begun since is refused from memory as without it", async () => {
  const coupon = await createCoupon(s);
  const { order } = await remembered({}, coupon.code);
  await s.sql(`update coupon set ends_at = now() - interval '1 minute' where id = $1`, [coupon.id]);
  expect(expectError(await order(await token(newCustomer())), 'COUPON_INVALID').rejection).toBe('EXPIRED');
  await s.sql(`update coupon set ends_at = null, starts_at = now() + interval '1 hour' where id = $1`, [coupon.id]);
  expect(expectError(await order(await token(newCustomer())), 'COUPON_INVALID').rejection).toBe('NOT_STARTED');
  await s.sql(`update coupon set starts_at = null where id = $1`, [coupon.id]);
  expect(codeOf(await order(await token(newCustomer())))).toBeUndefined();
});

test("a coupon whose window ends by the clock while remembered is refused once it has ended, not a moment later", async () => {
  // The end two seconds ahead by the database clock, as the admin would type it (to the millisecond).
  const [{ ends }] = await s.sql<{ ends: Date }>(`select date_trunc('milliseconds', now() + interval '2 seconds') as ends`);
  const coupon = await createCoupon(s, { endsAt: ends.toISOString() });
  const { order } = await remembered({}, coupon.code);
  expect(codeOf(await order(await token(newCustomer())))).toBeUndefined();
  await until('the coupon\'s end by the database clock', async () => (await s.sql<{ over: boolean }>(`select now() >= $1::timestamptz as over`, [ends]))[0].over, 10_000);
  expect(expectError(await order(await token(newCustomer())), 'COUPON_INVALID').rejection).toBe('EXPIRED');
  expect(await s.sql(`select count(*)::int as orders, (select sum(used)::int from coupon_use where coupon_id = $1) as used from "order" where coupon_id = $1`, [coupon.id])).toEqual([
    { orders: 2, used: 2 },
  ]);
});

test("every change of a coupon, by the API or straight in the database, reaches all its stripes; a statement that changes nothing does not", async () => {
  const coupon = await createCoupon(s, { maxUses: 20 });
  const revisions = async () =>
    (await s.sql<{ coupon: number; stripes: number[] }>(
      `select c.revision as coupon, array(select distinct coupon_revision from coupon_use where coupon_id = c.id order by 1) as stripes from coupon c where c.id = $1`,
      [coupon.id],
    ))[0];
  expect(await revisions()).toEqual({ coupon: 1, stripes: [1] });
  await s.gql(`mutation($id: ID!) { setCouponEnabled(id: $id, enabled: false) { id } }`, { id: coupon.id }, await adminToken());
  expect(await revisions()).toEqual({ coupon: 2, stripes: [2] });
  await s.sql(`update coupon set min_amount = 100 where id = $1`, [coupon.id]);
  expect(await revisions()).toEqual({ coupon: 3, stripes: [3] });
  await s.sql(`update coupon set min_amount = 100 where id = $1`, [coupon.id]);
  await s.sql(`update coupon set revision = 1 where id = $1`, [coupon.id]);
  expect(await revisions()).toEqual({ coupon: 4, stripes: [4] });
});
