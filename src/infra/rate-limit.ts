import Redis from 'ioredis';
import { RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { RateLimitedError } from '../shared/errors';

/** Options of one {@link RateLimiter}. */
export interface RateLimiterOptions {
  /** Namespaces the counters (`<prefix>:<key>`), so limiters and deployments never share keys. */
  keyPrefix: string;
  /** Calls allowed per window. */
  points: number;
  windowSeconds: number;
  /** With a URL the counters live in Redis and hold across instances; without, in this process. */
  redisUrl?: string;
  onError?: (e: Error) => void;
}

/**
 * Points a caller's window may still have after a lease, divided by this, is the next lease: a lease
 * never takes more than a sixteenth of what is left, so points leased by an instance and not spent
 * there (the caller moved to another instance) are a small share of the window's allowance.
 */
const LEASE_SHARE = 16;
/** The most points one lease takes. */
const MAX_LEASE = 64;

/**
 * Takes `ARGV[1]` points of the window counter `KEYS[1]` at once, starting a window of `ARGV[2]` ms
 * if none is running, and returns the count after it and the window's milliseconds left.
 */
const LEASE_SCRIPT = `
local count = redis.call('incrby', KEYS[1], ARGV[1])
local left = redis.call('pttl', KEYS[1])
if left < 0 then
  redis.call('pexpire', KEYS[1], ARGV[2])
  left = tonumber(ARGV[2])
end
return {count, left}`;

/** Points of one caller's window leased to this instance and not spent yet. */
interface Lease {
  left: number;
  /** When the window ends (epoch ms): the lease ends with it. */
  until: number;
  /** What is left of the window's allowance after this lease, as Redis counted it; sizes the next lease. */
  remaining: number;
}

/**
 * A fixed-window counter per caller. Without Redis the window is counted in this process
 * (rate-limiter-flexible). With Redis every instance counts into the same key, so the limit holds
 * however the calls are spread, and an instance leases points from it rather than asking for each call:
 * a lease is a sixteenth of what is left of the window (at most 64 points; one point at a time once
 * fewer than 32 are left, so a small allowance is counted call by call), and the calls it covers are
 * counted without a round trip. A caller is never allowed more than the allowance; points an instance
 * leased but the caller spent elsewhere are lost with the window, so a caller moving between instances
 * may be refused a little early (by at most a sixteenth of the allowance per instance it left). If
 * Redis cannot answer, an in-process limiter with the same limit stands in (the limit then holds per
 * instance) rather than failing every request.
 */
export class RateLimiter {
  private readonly memory: RateLimiterAbstract;
  private readonly redis: (Redis & { leasePoints(key: string, points: number, windowMs: number): Promise<[number, number]> }) | null;
  private readonly leases = new Map<string, Lease>();
  /** When ended leases may next be swept (epoch ms). */
  private nextSweep = 0;

  constructor(readonly opts: RateLimiterOptions) {
    this.memory = new RateLimiterMemory({ keyPrefix: opts.keyPrefix, points: opts.points, duration: opts.windowSeconds });
    if (opts.redisUrl) {
      // The offline queue stays on so the first calls after start wait for the connection instead of
      // falling back to the per-instance counter; one retry keeps a Redis outage from stalling calls.
      // A lease is asked for before the request runs, so it is written at once: auto-pipelining would
      // hold it until the event loop had handled every other ready callback (see src/infra/pubsub.ts).
      const redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: 1, enableAutoPipelining: false, retryStrategy: (n) => Math.min(n * 200, 2_000) });
      redis.on('error', (e) => opts.onError?.(e));
      redis.defineCommand('leasePoints', { numberOfKeys: 1, lua: LEASE_SCRIPT });
      this.redis = redis as NonNullable<RateLimiter['redis']>;
    } else {
      this.redis = null;
    }
  }

  /**
   * Counts `points` calls of `key` at once (one operation holding several, each counted): all of them
   * are allowed, or none is and the operation is refused whole, with what was left of the allowance
   * kept for calls that fit it. Throws RATE_LIMITED, with `limit`, `window` (seconds) and
   * `retryAfterSeconds` in its extensions, when they do not fit in what is left of the window. With
   * Redis an operation asks it at most once, however many calls it counts.
   */
  async consume(key: string, points = 1): Promise<void> {
    if (!this.redis) return this.consumeInMemory(key, points);
    const now = Date.now();
    const lease = this.liveLease(key, now);
    if (lease && lease.left >= points) {
      lease.left -= points;
      return;
    }
    const held = lease ? lease.left : 0;
    // What is left of a window not seen yet is at most the whole allowance, and of a window leased from
    // at most what Redis counted then (other instances only spend it): asking for more than that would
    // be refused anyway, and would count in Redis calls the caller never made. Refused without asking,
    // until the window ends (a window not seen yet: its whole length).
    const left = lease ? lease.remaining : this.opts.points;
    if (points - held > left) throw this.refusal(lease ? lease.until - now : this.opts.windowSeconds * 1000);
    // What this instance holds is taken out while Redis is asked, so calls racing this one cannot spend
    // it meanwhile; what the answer does not make up to `points` is put back.
    if (lease) lease.left = 0;
    const size = Math.max(points - held, Math.min(MAX_LEASE, Math.max(1, Math.floor(left / LEASE_SHARE))));
    let count: number;
    let windowLeftMs: number;
    try {
      [count, windowLeftMs] = await this.redis.leasePoints(`${this.opts.keyPrefix}:${key}`, size, this.opts.windowSeconds * 1000);
    } catch (e) {
      this.opts.onError?.(e as Error);
      const live = this.liveLease(key, Date.now());
      if (live) live.left += held;
      return this.consumeInMemory(key, points);
    }
    const granted = Math.max(0, Math.min(size, this.opts.points - (count - size)));
    const until = Date.now() + windowLeftMs;
    const have = held + granted;
    const fits = have >= points;
    // Calls that raced for a lease each got one: what the others left unspent is kept, not replaced.
    const carried = this.liveLease(key, now)?.left ?? 0;
    this.leases.set(key, { left: carried + (fits ? have - points : have), until, remaining: this.opts.points - count });
    this.forgetEnded(now);
    if (!fits) throw this.refusal(windowLeftMs);
  }

  /** `key`'s lease if its window had not ended at `now`. */
  private liveLease(key: string, now: number): Lease | undefined {
    const lease = this.leases.get(key);
    return lease && lease.until > now ? lease : undefined;
  }

  private async consumeInMemory(key: string, points: number): Promise<void> {
    try {
      await this.memory.consume(key, points);
    } catch (e) {
      if (!(e instanceof RateLimiterRes)) throw e;
      // The counter took the refused points too: given back, so the operation refused whole spends nothing.
      await this.memory.reward(key, points);
      throw this.refusal(e.msBeforeNext);
    }
  }

  private refusal(msBeforeNext: number): RateLimitedError {
    return new RateLimitedError(`Too many requests: at most ${this.opts.points} per ${this.opts.windowSeconds} s; try again later`, {
      limit: this.opts.points,
      window: this.opts.windowSeconds,
      retryAfterSeconds: Math.max(1, Math.ceil(msBeforeNext / 1000)),
    });
  }

  /** Drops ended leases now and then, so callers seen once do not stay in memory. */
  private forgetEnded(now: number): void {
    if (this.leases.size < 10_000 || now < this.nextSweep) return;
    this.nextSweep = now + 1_000;
    for (const [key, lease] of this.leases) if (lease.until <= now) this.leases.delete(key);
  }

  /** Closes the Redis connection, if any. */
  async close(): Promise<void> {
    if (this.redis && this.redis.status !== 'end') await this.redis.quit().catch(() => this.redis?.disconnect());
  }
}
