import { bps, mulDivHalfUp, priceOrder, splitRelease } from '../../src/shared/money';
import { CouponPreviewDocument, type CreateCouponInput } from '../__generated__/graphql';
import { createCoupon, createOrder, createPlan, newCustomer } from '../support/orders';
import { startTestServer, token, type TestServer } from '../support/server';

/**
 * Hand-computed prices (TAX_RATE_BPS 1500, half up to the unit). Each row: plan price, upgrade prices,
 * coupon, and the subtotal / discount / tax / total a customer must see.
 */
const TABLE: Array<{
  name: string;
  price: number;
  upgrades?: number[];
  coupon?: Partial<CreateCouponInput>;
  expect: [subtotal: number, discount: number, tax: number, total: number];
}> = [
  { name: 'no coupon', price: 1000, expect: [1000, 0, 150, 1150] },
  { name: 'PERCENT 10 of 1999 (199.9 -> 200, tax 269.85 -> 270)', price: 1999, coupon: { kind: 'PERCENT', value: 10 }, expect: [1999, 200, 270, 2069] },
  { name: 'PERCENT 50 of 1001: discount x.5 rounds up (500.5 -> 501)', price: 1001, coupon: { kind: 'PERCENT', value: 50 }, expect: [1001, 501, 75, 575] },
  { name: 'PERCENT 25 of 1002 (250.5 -> 251, tax 112.65 -> 113)', price: 1002, coupon: { kind: 'PERCENT', value: 25 }, expect: [1002, 251, 113, 864] },
  { name: 'tax x.5 rounds up (10 taxable -> 1.5 -> 2)', price: 1010, coupon: { kind: 'FIXED', value: 1000 }, expect: [1010, 1000, 2, 12] },
  { name: 'tax 4.5 rounds up to 5', price: 30, expect: [30, 0, 5, 35] },
  { name: 'FIXED above the subtotal is capped at it', price: 1000, coupon: { kind: 'FIXED', value: 5000 }, expect: [1000, 1000, 0, 0] },
  { name: '100% PERCENT', price: 1000, coupon: { kind: 'PERCENT', value: 100 }, expect: [1000, 1000, 0, 0] },
  { name: 'upgrades add to the subtotal (237.45 -> 237, tax 201.9 -> 202)', price: 1000, upgrades: [250, 333], coupon: { kind: 'PERCENT', value: 15 }, expect: [1583, 237, 202, 1548] },
  { name: 'minAmount exactly met by plan + upgrades', price: 1000, upgrades: [583], coupon: { kind: 'FIXED', value: 100, minAmount: 1583 }, expect: [1583, 100, 222, 1705] },
];

describe('src/shared/money.ts', () => {
  test('mulDivHalfUp rounds half up and exactly on large amounts', () => {
    expect(mulDivHalfUp(1001, 50, 100)).toBe(501);
    expect(mulDivHalfUp(1003, 50, 100)).toBe(502);
    expect(mulDivHalfUp(1999, 10, 100)).toBe(200);
    expect(mulDivHalfUp(1994, 10, 100)).toBe(199);
    expect(mulDivHalfUp(0, 15, 100)).toBe(0);
    expect(mulDivHalfUp(9_007_199_254_740_991, 1, 2)).toBe(4_503_599_627_370_496);
    expect(bps(10, 1500)).toBe(2);
    expect(bps(9, 1500)).toBe(1); // 1.35
    expect(bps(30, 1500)).toBe(5); // 4.5
  });

  test('priceOrder follows the table', () => {
    for (const row of TABLE) {
      const subtotal = row.price + (row.upgrades ?? []).reduce((a, b) => a + b, 0);
      const coupon = row.coupon ? { kind: row.coupon.kind as 'PERCENT' | 'FIXED', value: row.coupon.value! } : null;
      const p = priceOrder(subtotal, coupon, 1500);
      expect([p.subtotal, p.discount, p.tax, p.total]).toEqual(row.expect);
    }
  });

  test('priceOrder refuses amounts that are not non-negative safe integers', () => {
    expect(() => priceOrder(10.5, null, 1500)).toThrow(RangeError);
    expect(() => priceOrder(-1, null, 1500)).toThrow(RangeError);
    expect(() => priceOrder(Number.MAX_SAFE_INTEGER + 1, null, 1500)).toThrow(RangeError);
  });

  test('splitRelease parts add up to the total', () => {
    for (const [total, tax] of [[2069, 270], [1, 0], [12, 2], [999_999, 130_434]]) {
      const s = splitRelease(total, tax, 2000, 1500);
      expect(s.tax + s.profit + s.provider).toBe(total);
    }
  });
});

describe('prices through couponPreview and createOrder', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ TAX_RATE_BPS: '1500' });
  });
  afterAll(() => s.stop());

  test.each(TABLE)('$name', async (row) => {
    const plan = await createPlan(s, { price: row.price, upgrades: (row.upgrades ?? []).map((price, i) => ({ name: `U${i}`, price })) });
    const upgradeIds = plan.upgrades.map((u) => u.id);
    const coupon = row.coupon ? await createCoupon(s, row.coupon) : null;
    const tok = await token(newCustomer());
    const [subtotal, discount, tax, total] = row.expect;

    if (coupon) {
      const p = await s.gql(CouponPreviewDocument, { code: ` ${coupon.code.toLowerCase()} `, planId: plan.id, upgradeIds }, tok);
      expect(p.errors).toBeUndefined();
      expect(p.data!.couponPreview).toMatchObject({
        code: coupon.code,
        valid: true,
        rejection: null,
        subtotal: { amount: subtotal, currency: 'USD' },
        discount: { amount: discount },
        tax: { amount: tax },
        total: { amount: total },
      });
      expect(p.data!.couponPreview.message).toMatch(/save/);
    }

    const o = await createOrder(s, tok, { planId: plan.id, upgradeIds, couponCode: coupon?.code ?? null });
    expect(o.errors).toBeUndefined();
    expect(o.data!.createOrder).toMatchObject({
      status: 'PENDING',
      couponCode: coupon?.code ?? null,
      subtotal: { amount: subtotal, currency: 'USD' },
      discount: { amount: discount },
      tax: { amount: tax },
      total: { amount: total, currency: 'USD' },
      version: 1,
    });
    const [stored] = await s.sql(`select subtotal, discount, tax, total from "order" where id = $1`, [o.data!.createOrder.id]);
    expect([stored.subtotal, stored.discount, stored.tax, stored.total]).toEqual(row.expect);
  });

  test('a locked total does not follow later changes of the plan price', async () => {
    const plan = await createPlan(s, { price: 2000 });
    const tok = await token(newCustomer());
    const o = await createOrder(s, tok, { planId: plan.id });
    await s.sql(`update plan set price = 9999 where id = $1`, [plan.id]);
    const again = await s.gql(`query($id: ID!) { order(id: $id) { total { amount } } }`, { id: o.data!.createOrder.id }, tok);
    expect(again.data!.order.total.amount).toBe(2300);
  });
});
