import Redis from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
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
 * A fixed-window counter per caller (rate-limiter-flexible). With Redis every instance counts into
 * the same key, so the limit holds however the calls are spread. If Redis cannot answer, an
 * in-process limiter with the same limit stands in (the limit then holds per instance) rather than
 * failing every request.
 */
export class RateLimiter {
  private readonly limiter: RateLimiterAbstract;
  private readonly redis: Redis | null;

  constructor(readonly opts: RateLimiterOptions) {
    const base = { keyPrefix: opts.keyPrefix, points: opts.points, duration: opts.windowSeconds };
    if (opts.redisUrl) {
      // The offline queue stays on so the first calls after start wait for the connection instead of
      // falling back to the per-instance counter; one retry keeps a Redis outage from stalling calls.
      // Calls counted in the same tick leave in one write (auto-pipelining) instead of one each.
      this.redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: 1, enableAutoPipelining: true, retryStrategy: (n) => Math.min(n * 200, 2_000) });
      this.redis.on('error', (e) => opts.onError?.(e));
      this.limiter = new RateLimiterRedis({ ...base, storeClient: this.redis, insuranceLimiter: new RateLimiterMemory(base) });
    } else {
      this.redis = null;
      this.limiter = new RateLimiterMemory(base);
    }
  }

  /**
   * Counts one call of `key`; throws RATE_LIMITED, with `limit`, `window` (seconds) and
   * `retryAfterSeconds` in its extensions, once the window's allowance is spent.
   */
  async consume(key: string): Promise<void> {
    try {
      await this.limiter.consume(key, 1);
    } catch (e) {
      if (e instanceof RateLimiterRes) {
        throw new RateLimitedError(`Too many requests: at most ${this.opts.points} per ${this.opts.windowSeconds} s; try again later`, {
          limit: this.opts.points,
          window: this.opts.windowSeconds,
          retryAfterSeconds: Math.max(1, Math.ceil(e.msBeforeNext / 1000)),
        });
      }
      throw e;
    }
  }

  /** Closes the Redis connection, if any. */
  async close(): Promise<void> {
    if (this.redis && this.redis.status !== 'end') await this.redis.quit().catch(() => this.redis?.disconnect());
  }
}
