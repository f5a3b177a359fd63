import { CouponKind, type Coupon } from '../../src/modules/coupon/coupon.entity';
import { CouponRejection, couponMessage } from '../../src/modules/coupon/coupon.rules';
import { formatMoney, minorDigits } from '../../src/shared/money';

/** Intl separates a currency code from the number with a no-break space. */
const NBSP = '\u00a0';

describe('formatMoney: an amount in minor units as a person reads it', () => {
  test('USD has two minor digits', () => {
    expect(formatMoney(4900, 'USD')).toBe('$49.00');
    expect(formatMoney(1250, 'USD')).toBe('$12.50');
    expect(formatMoney(5, 'USD')).toBe('$0.05');
    expect(formatMoney(0, 'USD')).toBe('$0.00');
    expect(formatMoney(123_456_789, 'USD')).toBe('$1,234,567.89');
  });

  test('JPY has none: 2,500 minor units are ¥2,500, not ¥25.00', () => {
    expect(formatMoney(2500, 'JPY')).toBe('¥2,500');
    expect(formatMoney(1, 'JPY')).toBe('¥1');
    expect(formatMoney(0, 'JPY')).toBe('¥0');
  });

  test('KWD has three', () => {
    expect(formatMoney(4900, 'KWD')).toBe(`KWD${NBSP}4.900`);
    expect(formatMoney(1, 'KWD')).toBe(`KWD${NBSP}0.001`);
    expect(formatMoney(1_000_005, 'KWD')).toBe(`KWD${NBSP}1,000.005`);
  });

  test('the largest amount the contract allows prints exactly, in every number of digits', () => {
    const max = 2_147_483_647;
    expect(formatMoney(max, 'USD')).toBe('$21,474,836.47');
    expect(formatMoney(max, 'JPY')).toBe('¥2,147,483,647');
    expect(formatMoney(max, 'KWD')).toBe(`KWD${NBSP}2,147,483.647`);
    expect(formatMoney(max, 'CLF')).toBe(`CLF${NBSP}214,748.3647`);
  });

  test('amounts a float would round still print to the unit', () => {
    // 2^53 - 1 cents: divided by 100 in floating point, Intl prints $90,071,992,547,409.90.
    expect(formatMoney(Number.MAX_SAFE_INTEGER, 'USD')).toBe('$90,071,992,547,409.91');
    expect(formatMoney(29, 'USD')).toBe('$0.29');
    expect(formatMoney(1_000_000_001, 'USD')).toBe('$10,000,000.01');
  });

  test('money going out reads with a minus sign', () => {
    expect(formatMoney(-1250, 'USD')).toBe('-$12.50');
    expect(formatMoney(-7, 'JPY')).toBe('-¥7');
  });

  test('the currency code may come in any case', () => {
    expect(formatMoney(1999, 'eur')).toBe('€19.99');
  });

  test('what is not an amount in minor units is refused, not printed', () => {
    expect(() => formatMoney(12.5, 'USD')).toThrow(RangeError);
    expect(() => formatMoney(Number.NaN, 'USD')).toThrow(RangeError);
    expect(() => formatMoney(2 ** 53, 'USD')).toThrow(RangeError);
    expect(() => formatMoney(100, 'US')).toThrow(RangeError);
  });
});

test('minorDigits: the digits of each currency’s minor unit', () => {
  expect(['USD', 'EUR', 'JPY', 'KWD', 'CLF'].map(minorDigits)).toEqual([2, 2, 0, 3, 4]);
});

test('coupon messages name amounts in the currency’s own digits', () => {
  const fixed = { code: 'TAKE500', kind: CouponKind.FIXED, value: 500, minAmount: 10_000 } as Coupon;
  expect(couponMessage('take500', fixed, null, 500, 'JPY')).toBe('Coupon TAKE500 applies (¥500 off): you save ¥500.');
  expect(couponMessage('take500', fixed, CouponRejection.MIN_AMOUNT_NOT_MET, 0, 'KWD')).toBe(`Coupon TAKE500 needs a subtotal of at least KWD${NBSP}10.000.`);
  const percent = { code: 'TENOFF', kind: CouponKind.PERCENT, value: 10, minAmount: null } as Coupon;
  expect(couponMessage('tenoff', percent, null, 2_147_483_647, 'USD')).toBe('Coupon TENOFF applies (10% off): you save $21,474,836.47.');
});
