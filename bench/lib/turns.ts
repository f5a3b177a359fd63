import { combineLoads, type LoadResult } from './load';

/** What {@link takeTurns} measured: each side's parts combined, and the parts in the order taken. */
export interface Turns<K extends string> {
  of: (side: K) => LoadResult;
  parts: ReadonlyArray<{ side: K; load: LoadResult }>;
  /** The parts in order with their rates, for the notes: `small 812, hello 9,120, ...`. */
  line: (name?: (side: K) => string) => string;
}

/**
 * Measures several loads in parts taken in turns, `order` naming the side of each part: each side's
 * parts are then combined (answers, seconds and CPU added up). `measure` runs one part of one side
 * (and whatever must precede it, unmeasured: a clean start, a settling load). With an order in which
 * every side's parts sit at the same mean place (see {@link balancedPair}, and the mirrored orders the
 * scenarios use), a machine whose speed drifts through the minutes of a comparison weighs on its sides
 * alike; and the more parts, the less one slow moment of a shared machine weighs on one side.
 */
export async function takeTurns<K extends string>(order: readonly K[], measure: (side: K, index: number) => Promise<LoadResult>): Promise<Turns<K>> {
  const parts: Array<{ side: K; load: LoadResult }> = [];
  for (const [index, side] of order.entries()) parts.push({ side, load: await measure(side, index) });
  return {
    of: (side) => combineLoads(parts.filter((p) => p.side === side).map((p) => p.load)),
    parts,
    line: (name = (side) => side) => `${parts.map((p) => `${name(p.side)} ${p.load.rps.toFixed(0)}`).join(', ')} req/s`,
  };
}

/**
 * The order of `parts` turns (a power of two, 2^k) of two sides, `a` and `b`, as the Thue–Morse
 * sequence takes them (a b b a b a a b, then b a a b a b b a, ...): the two sides' places have the same
 * sum, and the same sums of their squares and higher powers up to the (k-1)th, so a drift of the
 * machine that is steady, or that speeds up or slows down in the middle, falls on both alike.
 */
export function balancedPair<K extends string>(a: K, b: K, parts: number): K[] {
  if (parts < 2 || (parts & (parts - 1)) !== 0) throw new Error(`balancedPair: ${parts} parts is not a power of two`);
  const ones = (n: number): number => (n === 0 ? 0 : (n & 1) + ones(n >>> 1));
  return Array.from({ length: parts }, (_, i) => (ones(i) % 2 === 0 ? a : b));
}

/**
 * Each round of sides followed by itself reversed (a, b, c, c, b, a, then the next round): within each
 * mirrored pair every side sits at the same mean place, so with rounds that between them give every side
 * the same places (for two sides a b, b a; for three a b c, c b a) a steady drift falls on all alike.
 */
export function mirroredRounds<K extends string>(rounds: ReadonlyArray<readonly K[]>): K[] {
  return rounds.flatMap((round) => [...round, ...[...round].reverse()]);
}
