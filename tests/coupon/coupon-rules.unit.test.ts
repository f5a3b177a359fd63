/**
 * The coupon rules alone (src/modules/coupon/coupon.rules.ts), without a server: which reason a coupon
 * is refused for, at the edges of each limit, and which reason wins when several apply. The same rules
 * through couponPreview and createOrder are in coupons.test.ts.
 */
import { Coupon, CouponKind } from '../../src/modules/coupon/coupon.entity';
import { CouponRejection, couponMessage, couponRejection, type CouponUse } from '../../src/modules/coupon/coupon.rules';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const ms = (d: Date, delta: number) => new Date(d.getTime() + delta);
const PLAN = 'plan-a';

type CouponFields = Partial<Pick<Coupon, 'enabled' | 'startsAt' | 'endsAt' | 'planIds' | 'minAmount' | 'maxUses' | 'usedCount' | 'maxUsesPerUser'>>;

/** A coupon that every purchase may use, with `fields` changed. */
function coupon(fields: CouponFields = {}): Coupon {
  return Object.assign(new Coupon('SAVE10', CouponKind.PERCENT, 10), fields);
}

const use = (over: Partial<CouponUse> = {}): CouponUse => ({ now: NOW, planId: PLAN, subtotal: 5_000, usedByCustomer: 0, ...over });

describe('couponRejection', () => {
  const cases: Array<[name: string, c: Coupon | null, u: CouponUse, expected: CouponRejection | null]> = [
    ['no coupon', null, use(), CouponRejection.NOT_FOUND],
    ['a coupon without limits', coupon(), use(), null],
    ['disabled', coupon({ enabled: false }), use(), CouponRejection.DISABLED],
    // The window is startsAt <= now < endsAt.
    ['one millisecond before it starts', coupon({ startsAt: ms(NOW, 1) }), use(), CouponRejection.NOT_STARTED],
    ['the instant it starts', coupon({ startsAt: NOW }), use(), null],
    ['the instant it ends', coupon({ endsAt: NOW }), use(), CouponRejection.EXPIRED],
    ['one millisecond before it ends', coupon({ endsAt: ms(NOW, 1) }), use(), null],
    ['inside its window', coupon({ startsAt: ms(NOW, -1), endsAt: ms(NOW, 1) }), use(), null],
    ['another plan', coupon({ planIds: ['plan-b'] }), use(), CouponRejection.NOT_APPLICABLE],
    ['one of its plans', coupon({ planIds: ['plan-b', PLAN] }), use(), null],
    ['a subtotal one unit below the minimum', coupon({ minAmount: 5_001 }), use(), CouponRejection.MIN_AMOUNT_NOT_MET],
    ['a subtotal exactly at the minimum', coupon({ minAmount: 5_000 }), use(), null],
    ['a minimum of 0 and a free plan', coupon({ minAmount: 0 }), use({ subtotal: 0 }), null],
    ['one use left', coupon({ maxUses: 5, usedCount: 4 }), use(), null],
    ['every use taken', coupon({ maxUses: 5, usedCount: 5 }), use(), CouponRejection.USAGE_LIMIT_REACHED],
    ['one use left for this customer', coupon({ maxUsesPerUser: 2 }), use({ usedByCustomer: 1 }), null],
    ["this customer's uses taken", coupon({ maxUsesPerUser: 2 }), use({ usedByCustomer: 2 }), CouponRejection.PER_USER_LIMIT_REACHED],
    ["others' uses do not count against this customer", coupon({ maxUsesPerUser: 1, usedCount: 40 }), use(), null],
  ];
  test.each(cases)('%s', (_name, c, u, expected) => {
    expect(couponRejection(c, u)).toBe(expected);
  });

  /** Each way a coupon can fail, in the order the rules promise to report them (most basic first). */
  const failures: Array<[CouponRejection, CouponFields, Partial<CouponUse>]> = [
    [CouponRejection.DISABLED, { enabled: false }, {}],
    [CouponRejection.NOT_STARTED, { startsAt: ms(NOW, 60_000) }, {}],
    [CouponRejection.EXPIRED, { endsAt: ms(NOW, -60_000) }, {}],
    [CouponRejection.NOT_APPLICABLE, { planIds: ['plan-b'] }, {}],
    [CouponRejection.MIN_AMOUNT_NOT_MET, { minAmount: 10_000 }, {}],
    [CouponRejection.USAGE_LIMIT_REACHED, { maxUses: 3, usedCount: 3 }, {}],
    [CouponRejection.PER_USER_LIMIT_REACHED, { maxUsesPerUser: 1 }, { usedByCustomer: 1 }],
  ];

  test('when several reasons apply, the first in the documented order is given (all 127 combinations)', () => {
    for (let mask = 1; mask < 1 << failures.length; mask++) {
      const chosen = failures.filter((_, i) => mask & (1 << i));
      // NOT_STARTED and EXPIRED together need a window that ends before it starts, which the database
      // refuses (coupon_window_check); the rule still reports NOT_STARTED first.
      const fields = Object.assign({}, ...chosen.map(([, f]) => f)) as CouponFields;
      const u = use(Object.assign({}, ...chosen.map(([, , x]) => x)) as Partial<CouponUse>);
      const got = couponRejection(coupon(fields), u);
      if (got !== chosen[0][0]) throw new Error(`for ${chosen.map(([r]) => r).join(' + ')} expected ${chosen[0][0]}, got ${got}`);
    }
  });
});

describe('couponMessage', () => {
  test('every reason has its own sentence, naming the code as the customer typed it when there is no coupon', () => {
    const c = coupon({ startsAt: ms(NOW, 1), endsAt: ms(NOW, 2), minAmount: 2_500 });
    const sentences = Object.values(CouponRejection).map((r) => couponMessage('save10 ', r === CouponRejection.NOT_FOUND ? null : c, r, 0, 'USD'));
    expect(new Set(sentences).size).toBe(sentences.length);
    expect(sentences[0]).toBe('There is no coupon with the code save10 .');
    for (const s of sentences.slice(1)) expect(s).toContain('SAVE10');
  });

  test('a usable coupon says what it takes off and what the customer saves, in minor units made readable', () => {
    expect(couponMessage('SAVE10', coupon(), null, 499, 'USD')).toBe('Coupon SAVE10 applies (10% off): you save $4.99.');
    const fixed = new Coupon(' FIVE', CouponKind.FIXED, 500);
    expect(couponMessage('five', fixed, null, 500, 'USD')).toBe('Coupon FIVE applies ($5.00 off): you save $5.00.');
  });
});
