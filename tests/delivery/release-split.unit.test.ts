/**
 * The escrow release split alone (splitRelease in src/shared/money.ts, used when a delivery completes):
 * the contract's example, the rounding at half a unit, and a property check that the parts add up to
 * the total to the cent for random totals and rates. The release through the server is in
 * release-split.test.ts.
 */
import { splitRelease } from '../../src/shared/money';

/** mulberry32: a small seeded PRNG, so a failure is reproducible from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `amount × bps / 10000` rounded half up, by quotient and remainder (an independent formulation). */
function bpsHalfUp(amount: bigint, bps: bigint): bigint {
  const n = amount * bps;
  const q = n / 10_000n;
  return 2n * (n % 10_000n) >= 10_000n ? q + 1n : q;
}

test('the contract example: tax to TAX, 20% of net less 15% of it to PROFIT, the rest to the provider', () => {
  // total 11500 with 1500 tax: net 10000, fee 2000, tax on the fee 300.
  expect(splitRelease(11_500, 1_500, 2000, 1500)).toEqual({ tax: 1_800, profit: 1_700, provider: 8_000 });
  // Half a cent rounds up: net 1, fee 0.2 → 0; net 3, fee 0.6 → 1, its tax 0.15 → 0.
  expect(splitRelease(1, 0, 2000, 1500)).toEqual({ tax: 0, profit: 0, provider: 1 });
  expect(splitRelease(3, 0, 2000, 1500)).toEqual({ tax: 0, profit: 1, provider: 2 });
  expect(splitRelease(0, 0, 2000, 1500)).toEqual({ tax: 0, profit: 0, provider: 0 });
});

test('over 20,000 random totals and rates, the parts add up to the total, to the cent, and follow the rules', () => {
  const seed = 20261123;
  const rnd = prng(seed);
  const int = (max: number) => Math.floor(rnd() * (max + 1));
  for (let i = 0; i < 20_000; i++) {
    // Mostly everyday amounts, sometimes very large ones.
    const total = i % 10 === 0 ? int(2_000_000_000) : int(100_000);
    const taxRate = int(10_000);
    // The order's tax as createOrder computes it: a share of the pre-tax amount, so tax <= total.
    const tax = Math.min(total, Number(bpsHalfUp(BigInt(Math.floor((total * 10_000) / (10_000 + taxRate))), BigInt(taxRate))));
    const feeBps = i % 50 === 0 ? [0, 10_000][i % 2] : int(10_000);
    const profitTaxBps = i % 70 === 0 ? [0, 10_000][i % 2] : int(10_000);
    const split = splitRelease(total, tax, feeBps, profitTaxBps);
    const ctx = { seed, i, total, tax, feeBps, profitTaxBps, split };

    const net = BigInt(total - tax);
    const fee = bpsHalfUp(net, BigInt(feeBps));
    const feeTax = bpsHalfUp(fee, BigInt(profitTaxBps));
    const expected = { tax: tax + Number(feeTax), profit: Number(fee - feeTax), provider: Number(net - fee) };
    if (split.tax + split.profit + split.provider !== total || JSON.stringify(split) !== JSON.stringify(expected)) {
      throw new Error(`split broken: ${JSON.stringify({ ...ctx, expected })}`);
    }
    for (const part of Object.values(split)) if (!Number.isSafeInteger(part) || part < 0) throw new Error(`bad part: ${JSON.stringify(ctx)}`);
  }
});

test('an impossible split is refused rather than guessed', () => {
  expect(() => splitRelease(100, 101, 2000, 1500)).toThrow(RangeError);
  expect(() => splitRelease(10.5, 1, 2000, 1500)).toThrow(RangeError);
  expect(() => splitRelease(-1, 0, 2000, 1500)).toThrow(RangeError);
});
