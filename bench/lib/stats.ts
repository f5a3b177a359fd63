/** Percentile (nearest rank) of unsorted samples; NaN for none. */
export function percentile(samples: ArrayLike<number>, p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = Float64Array.from(samples).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function mean(samples: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < samples.length; i++) s += samples[i];
  return samples.length ? s / samples.length : NaN;
}

/** Rounds for display: 3 significant digits below 100, integers above. */
export function round(x: number): number {
  if (!Number.isFinite(x)) return x;
  if (Math.abs(x) >= 100) return Math.round(x);
  return Number(x.toPrecision(3));
}

/** Monotonic clock in milliseconds, comparable across processes of one machine (CLOCK_MONOTONIC). */
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/**
 * With `--profile` (BENCH_PROFILE=1), ` [profile --window=FROM,TO]` for the span from `fromMs` to `toMs`
 * on {@link nowMs}'s clock, in µs as `bench/profile-top.ts --window=` takes it (a V8 profile's clock);
 * without, nothing.
 */
export const profileWindowNote = (fromMs: number, toMs: number): string =>
  process.env.BENCH_PROFILE === '1' ? ` [profile --window=${Math.round(fromMs * 1000)},${Math.round(toMs * 1000)}]` : '';

/** Wall clock minus {@link nowMs}, as last measured by {@link calibrateWallMs}. */
let wallOffsetMs = Date.now() - nowMs();

/**
 * Re-reads where the wall clock stands against the monotonic one, to a few microseconds: waits for
 * `Date.now()` to tick to its next millisecond and takes the monotonic time at that instant. Call it
 * before each measured run: the machine's clock can be stepped while a process runs (a time sync
 * moved it by 4 s once mid-run), and a wall time derived from a start-up offset
 * (`performance.timeOrigin`) would then be off by the step.
 */
export function calibrateWallMs(): void {
  const from = Date.now();
  let now = from;
  while (now === from) now = Date.now();
  wallOffsetMs = now - nowMs();
}

/**
 * Wall-clock milliseconds with sub-millisecond resolution, comparable with PostgreSQL's now() on the
 * same machine (both read CLOCK_REALTIME), as of the last {@link calibrateWallMs}.
 */
export const wallMs = (): number => nowMs() + wallOffsetMs;

/** Latency figures of one measured run. */
export interface Latency {
  p50: number;
  p99: number;
  mean: number;
}

/**
 * The latency of several runs of the same load taken as one, each with its count of answers or
 * transactions: p50 and p99 are the highest of the parts (percentiles of separate runs cannot be merged
 * exactly), the mean is weighted by the counts (NaN when there are none).
 */
export function combinedLatency(parts: readonly Latency[], counts: readonly number[]): Latency {
  const total = counts.reduce((n, c) => n + c, 0);
  return {
    p50: Math.max(...parts.map((r) => r.p50)),
    p99: Math.max(...parts.map((r) => r.p99)),
    mean: total ? parts.reduce((n, r, i) => n + r.mean * counts[i], 0) / total : NaN,
  };
}
