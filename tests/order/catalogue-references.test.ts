import { afterHolderCommits } from '../support/locks';
import { createCoupon, createOrder, createPlan, newCustomer } from '../support/orders';
import { startTestServer, token, type TestServer } from '../support/server';

/**
 * An order's plan and coupon are held by the database without locking their rows (not foreign keys:
 * migrations/Migration20261206070000_OrderCatalogueWithoutLocks.ts): orders of one plan and coupon do
 * not queue on them, and an order still cannot refer to a plan or coupon that does not exist, nor a
 * plan or coupon an order refers to be deleted.
 */

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s?.stop());

/** A copy of order `id` as a new row, with `changes` applied (column name to SQL expression). */
const copyOrder = (id: string, changes: string) =>
  s.sql(
    `insert into "order" select (jsonb_populate_record(null::"order", to_jsonb(o) || jsonb_build_object('id', uuid_v7(), 'number', 'ORD-T' || floor(random() * 1e9)::text, ${changes}))).*
       from "order" o where id = $1`,
    [id],
  );

async function anOrder() {
  const plan = await createPlan(s);
  const coupon = await createCoupon(s);
  const r = await createOrder(s, await token(newCustomer()), { planId: plan.id, couponCode: coupon.code });
  expect(r.errors).toBeUndefined();
  return { plan, coupon, order: r.data!.createOrder };
}

test('orders placed side by side with one plan and one coupon leave both rows unlocked and unwritten', async () => {
  const plan = await createPlan(s);
  const coupon = await createCoupon(s, { maxUses: 1_000 });
  // A row's xmax names its last locker (or deleter); a foreign key would lock each row once per order.
  const lockers = () => s.sql(`select (select xmax::text from plan where id = $1) as plan, (select xmax::text from coupon where id = $2) as coupon`, [plan.id, coupon.id]);
  const before = await lockers();
  const placed = await Promise.all(
    Array.from({ length: 24 }, async () => createOrder(s, await token(newCustomer()), { planId: plan.id, couponCode: coupon.code })),
  );
  expect(placed.map((r) => r.errors?.[0]?.message ?? r.data!.createOrder.status)).toEqual(Array(24).fill('PENDING'));
  expect(await lockers()).toEqual(before);
  expect(await s.sql(`select count(*)::int as n from "order" where plan_id = $1 and coupon_id = $2`, [plan.id, coupon.id])).toEqual([{ n: 24 }]);
});

test('an order that names a plan or coupon that does not exist is refused, written or changed', async () => {
  const { order } = await anOrder();
  const before = await s.sql(`select count(*)::int as n from "order"`);
  await expect(copyOrder(order.id, `'plan_id', gen_random_uuid()`)).rejects.toMatchObject({ code: '23503' });
  await expect(copyOrder(order.id, `'coupon_id', gen_random_uuid()`)).rejects.toMatchObject({ code: '23503' });
  expect(await s.sql(`select count(*)::int as n from "order"`)).toEqual(before);
  await expect(s.sql(`update "order" set plan_id = gen_random_uuid() where id = $1`, [order.id])).rejects.toMatchObject({ code: '23503' });
  await expect(s.sql(`update "order" set coupon_id = gen_random_uuid() where id = $1`, [order.id])).rejects.toMatchObject({ code: '23503' });
  // A copy naming plans and coupons that exist is written.
  await copyOrder(order.id, `'coupon_id', null, 'coupon_code', null`);
  expect(await s.sql(`select count(*)::int as n from "order"`)).toEqual([{ n: before[0].n + 1 }]);
});

test('a plan or coupon an order refers to is not deleted, nor its id changed; one without orders is deleted', async () => {
  const { plan, coupon } = await anOrder();
  await expect(s.sql(`delete from plan where id = $1`, [plan.id])).rejects.toThrow(/orders refer to it/);
  await expect(s.sql(`delete from coupon where id = $1`, [coupon.id])).rejects.toThrow(/orders refer to it/);
  await expect(s.sql(`update plan set id = gen_random_uuid() where id = $1`, [plan.id])).rejects.toMatchObject({ code: '23503' });
  await expect(s.sql(`update coupon set id = gen_random_uuid() where id = $1`, [coupon.id])).rejects.toMatchObject({ code: '23503' });
  expect(await s.sql(`select (select count(*)::int from plan where id = $1) as plans, (select count(*)::int from coupon_use where coupon_id = $2) as stripes`, [plan.id, coupon.id])).toEqual([
    { plans: 1, stripes: 16 },
  ]);

  const unused = await createPlan(s);
  const unusedCoupon = await createCoupon(s);
  await s.sql(`delete from plan where id = $1`, [unused.id]);
  await s.sql(`delete from coupon where id = $1`, [unusedCoupon.id]);
  expect(await s.sql(`select (select count(*)::int from plan where id = $1) as plans, (select count(*)::int from coupon where id = $2) as coupons`, [unused.id, unusedCoupon.id])).toEqual([
    { plans: 0, coupons: 0 },
  ]);
});

test('a delete of a plan waits for a transaction writing an order of it, then refuses', async () => {
  const { order } = await anOrder();
  const other = await createPlan(s);
  const { waited, error } = await afterHolderCommits(s.databaseUrl, [`update "order" set plan_id = $1 where id = $2`, [other.id, order.id]], [`delete from plan where id = $1`, [other.id]]);
  expect(waited).toBe(true);
  expect(error?.message).toMatch(/orders refer to it/);
  expect(await s.sql(`select count(*)::int as n from plan where id = $1`, [other.id])).toEqual([{ n: 1 }]);
});
