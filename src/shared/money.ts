/**
 * Money arithmetic in integer minor units. Every division rounds half up to the unit
 * (CONTRACT.md, Money); no floating point is involved at any step. {@link formatMoney} is the one
 * place an amount becomes words for people.
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

/** A currency's number format and the digits of its minor unit. */
interface CurrencyFormat {
  format: Intl.NumberFormat;
  digits: number;
}

/** By currency code: building a format is far dearer than using it, and a deployment has one currency. */
const formats = new Map<string, CurrencyFormat>();

function currencyFormat(currency: string): CurrencyFormat {
  const code = currency.toUpperCase();
  let known = formats.get(code);
  if (!known) {
    // Throws a RangeError on a malformed code, so a bad currency fails loudly rather than printing a guess.
    const format = new Intl.NumberFormat('en', { style: 'currency', currency: code });
    known = { format, digits: format.resolvedOptions().maximumFractionDigits ?? 2 };
    formats.set(code, known);
  }
  return known;
}

/** Largest amount an order may carry: the contract's amounts are 32-bit `Int`s. */
export const MAX_ORDER_AMOUNT = 2_147_483_647;

/**
 * How many digits of `currency`'s minor unit make up its major unit, as Intl (CLDR) knows them:
 * 2 for USD and EUR (cents), 0 for JPY, 3 for KWD. An amount of `n` minor units is `n / 10^digits`
 * of the currency.
 */
export function minorDigits(currency: string): number {
  return currencyFormat(currency).digits;
}

/**
 * An amount in minor units as a person reads it, in the currency's own digits: `formatMoney(4900, 'USD')`
 * is `$49.00`, `formatMoney(4900, 'JPY')` is `¥4,900`, `formatMoney(4900, 'KWD')` is `KWD 4.900` (with a
 * no-break space). Every mail, message and page that shows an amount goes through here; amounts stay
 * integers everywhere else.
 *
 * The decimal is built with integer arithmetic and handed to Intl as a string, which Intl formats
 * exactly: no float is ever divided, so 2,147,483,647 cents print as `$21,474,836.47`, to the cent.
 */
export function formatMoney(minor: number, currency: string): string {
  if (!Number.isSafeInteger(minor)) throw new RangeError(`not an amount in minor units: ${minor}`);
  const { format, digits } = currencyFormat(currency);
  const magnitude = BigInt(Math.abs(minor));
  const unit = 10n ** BigInt(digits);
  const whole = (magnitude / unit).toString();
  const fraction = digits > 0 ? `.${(magnitude % unit).toString().padStart(digits, '0')}` : '';
  // Intl formats a decimal string exactly (ES2023); a number would round through binary floating point.
  const exact = `${minor < 0 ? '-' : ''}${whole}${fraction}` as Intl.StringNumericLiteral;
  return format.format(exact);
}
