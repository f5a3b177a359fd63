/**
 * Money arithmetic in integer minor units. Every division rounds half up to the unit
 * (CONTRACT.md, Money); no floating point is involved at any step.
 */

/** `amount × numerator / denominator`, rounded half up; amount, numerator and denominator are non-negative integers. */
export function mulDivHalfUp(amount: number, numerator: number, denominator: number): number {
  assertMinor(amount);
  const a = BigInt(amount) * BigInt(numerator);
  const d = BigInt(denominator);
  return Number((a * 2n + d) / (2n * d));
}

/** Basis points of an amount, half up. */
export const bps = (amount: number, basisPoints: number): number => mulDivHalfUp(amount, basisPoints, 10_000);

/** Throws unless `n` is a safe non-negative integer: the only shape an amount may take. */
export function assertMinor(n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not an amount in minor units: ${n}`);
}

export interface CouponTerms {
  kind: 'PERCENT' | 'FIXED';
  value: number;
}

export interface PriceBreakdown {
  subtotal: number;
  discount: number;
  tax: number;
  total: number;
}

/** Prices an order: subtotal, discount (never above the subtotal), tax on the discounted subtotal, total. */
export function priceOrder(subtotal: number, coupon: CouponTerms | null, taxRateBps: number): PriceBreakdown {
  assertMinor(subtotal);
  let discount = 0;
  if (coupon) discount = coupon.kind === 'PERCENT' ? mulDivHalfUp(subtotal, coupon.value, 100) : coupon.value;
  discount = Math.min(discount, subtotal);
  const taxable = subtotal - discount;
  const tax = bps(taxable, taxRateBps);
  return { subtotal, discount, tax, total: taxable + tax };
}

export interface ReleaseSplit {
  /** The order's tax plus the tax on the platform's fee. */
  tax: number;
  /** The platform's fee less the tax on it. */
  profit: number;
  /** What the provider (or, without one, the platform's profit account) receives. */
  provider: number;
}

/**
 * Splits a delivered order's escrow (CONTRACT.md, Money): `tax` to the tax account; of the rest (net),
 * the fee (`feeBps` of net) to profit less `profitTaxBps` of the fee to tax; what remains to the provider.
 * The parts always add up to `total`.
 */
export function splitRelease(total: number, orderTax: number, feeBps: number, profitTaxBps: number): ReleaseSplit {
  assertMinor(total);
  assertMinor(orderTax);
  if (orderTax > total) throw new RangeError('tax above total');
  const net = total - orderTax;
  const fee = bps(net, feeBps);
  const feeTax = bps(fee, profitTaxBps);
  return { tax: orderTax + feeTax, profit: fee - feeTax, provider: net - fee };
}
