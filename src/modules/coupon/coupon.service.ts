import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../../config';
import type { RateLimiter } from '../../infra/rate-limit';
import type { Viewer } from '../../shared/caller';
import { decodeCursor, encodeCursor, microsOf, pageRequest, timestampFromMicros } from '../../shared/cursor';
import { BadUserInputError, NotFoundError } from '../../shared/errors';
import { isUuid } from '../../shared/ids';
import { MAX_ORDER_AMOUNT, priceOrder, type PriceBreakdown } from '../../shared/money';
import { query, sql } from '../../shared/sql';
import { ONE_LINE, ONE_LINE_MESSAGE } from '../../shared/text';
import { pageOf, type Page } from '../../shared/types';
import { unitOfWork } from '../../shared/unit-of-work';
import { AuditTargetType, type AuditService } from '../audit';
import { Plan, resolvePurchase, type PlanService } from '../plan';
import { couponRead, type CouponRows } from './coupon-uses';
import { Coupon, CouponKind, usedCountOf } from './coupon.entity';
import { couponMessage, couponRejection, CouponRejection } from './coupon.rules';
import { MAX_CODE_LENGTH, type CreateCouponInput } from './coupon.types';

/** A priced purchase with a coupon, as `couponPreview` answers it. */
export interface CouponPreview extends PriceBreakdown {
  code: string;
  valid: boolean;
  rejection: CouponRejection | null;
  message: string;
  currency: string;
}

/** One page of the back office's coupon list. */
export type CouponPage = Page<Coupon>;

/** A coupon judged for one purchase, with the amounts it gives. */
export interface CouponVerdict {
  coupon: Coupon | null;
  rejection: CouponRejection | null;
  /** With the coupon when it is valid, without it otherwise. */
  price: PriceBreakdown;
}

/**
 * Coupons: administration, previews, and the guarded counters that enforce their limits. The limits
 * live in the database: `coupon_use.used` (all live uses in stripes, each checked against its share of
 * `max_uses`) and `coupon_customer_use.used` (one customer's live uses, checked against
 * `max_uses_per_user`, counted only when the coupon has that limit), each moved by a single
 * conditional statement, never by reading then writing (the steps in coupon-uses.ts, which an order
 * runs inside its own statement).
 */
export class CouponService {
  constructor(
    private readonly deps: {
      config: Config;
      plans: PlanService;
      /** Per-caller allowance of `couponPreview`. */
      previewLimiter: RateLimiter;
      /** Admin changes are recorded in the audit log. */
      audits: AuditService;
    },
  ) {}

  /** Closes the preview limiter's store connection. */
  close(): Promise<void> {
    return this.deps.previewLimiter.close();
  }

  /** Trims a code and checks its length; BAD_USER_INPUT naming `field` otherwise. */
  normaliseCode(code: string, field: string): string {
    const trimmed = code.trim();
    if (trimmed.length < 1 || trimmed.length > MAX_CODE_LENGTH) throw BadUserInputError.field(field, `must be 1 to ${MAX_CODE_LENGTH} characters`);
    return trimmed;
  }

  /**
   * Admin: creates a coupon, recorded in the audit log as made by `actor`. Codes are unique ignoring case
   * and surrounding spaces (the database decides races).
   */
  async create(em: EntityManager, input: CreateCouponInput, actor: string): Promise<Coupon> {
    const code = this.normaliseCode(input.code, 'code');
    // A code a customer can type: looked up as typed, it is never refused for its characters.
    if (!ONE_LINE.test(code)) throw BadUserInputError.field('code', ONE_LINE_MESSAGE);
    if (input.kind === CouponKind.PERCENT && input.value > 100) throw BadUserInputError.field('value', 'a PERCENT coupon takes 1 to 100');
    if (input.startsAt && input.endsAt && input.endsAt <= input.startsAt) throw BadUserInputError.field('endsAt', 'must be after startsAt');
    // A UUID names the same plan in either case: kept in PostgreSQL's form, the one orders compare with.
    const planIds = [...new Set((input.planIds ?? []).map((id) => id.toLowerCase()))];
    if (planIds.some((id) => !isUuid(id))) throw BadUserInputError.field('planIds', 'must name existing plans');
    if (planIds.length) {
      const found = await em.count(Plan, { id: { $in: planIds } });
      if (found !== planIds.length) throw BadUserInputError.field('planIds', 'must name existing plans');
    }

    const coupon = new Coupon(code, input.kind, input.value);
    coupon.startsAt = input.startsAt ?? null;
    coupon.endsAt = input.endsAt ?? null;
    coupon.maxUses = input.maxUses ?? null;
    coupon.maxUsesPerUser = input.maxUsesPerUser ?? null;
    coupon.minAmount = input.minAmount ?? null;
    coupon.planIds = planIds;
    try {
      await unitOfWork(em.fork(), async (tx) => {
        tx.persist(coupon);
        await this.deps.audits.record(tx, { actor, action: 'createCoupon', targetType: AuditTargetType.COUPON, targetId: coupon.id, details: { ...input, code } });
      });
    } catch (e) {
      if (e instanceof UniqueConstraintViolationException) throw BadUserInputError.field('code', 'a coupon with this code already exists');
      throw e;
    }
    return coupon;
  }

  /** Admin: a coupon by id; NOT_FOUND for unknown and non-UUID ids. */
  async get(em: EntityManager, id: string): Promise<Coupon> {
    const coupon = isUuid(id) ? await em.findOne(Coupon, { id }) : null;
    if (!coupon) throw new NotFoundError('No such coupon');
    return coupon;
  }

  /**
   * Admin: coupons (only the enabled or the disabled ones, when asked), newest first, by keyset
   * pagination on (created_at, id), served by `coupon_created_idx`: pages stay stable while coupons are
   * added. `first` 1 to 100, default 20; `after` a cursor of this list (BAD_USER_INPUT otherwise).
   */
  async list(em: EntityManager, args: { enabled?: boolean | null; first?: number | null; after?: string | null }): Promise<CouponPage> {
    const { first, after } = pageRequest(args, decodeCursor);
    const where: string[] = [];
    const params: unknown[] = [];
    if (args.enabled != null) {
      where.push('enabled = ?');
      params.push(args.enabled);
    }
    if (after) {
      where.push(`(created_at, id) < (${timestampFromMicros}, ?::uuid)`);
      params.push(after.micros, after.id);
    }
    params.push(first + 1);
    const rows = await em.execute<Array<Record<string, unknown> & { id: string; created_at_micros: string }>>(
      `select *, ${usedCountOf('coupon')} as used_count, ${microsOf('created_at')} as created_at_micros from coupon
        ${where.length ? `where ${where.join(' and ')}` : ''}
        order by created_at desc, id desc
        limit ?`,
      params,
    );
    return pageOf(rows, first, ({ created_at_micros, ...row }) => ({
      cursor: encodeCursor({ micros: created_at_micros, id: row.id }),
      node: em.map(Coupon, row),
    }));
  }

  /** Admin: turns a coupon on or off, recorded in the audit log as done by `actor`. Orders already holding a use keep it. */
  async setEnabled(em: EntityManager, id: string, enabled: boolean, actor: string): Promise<Coupon> {
    if (!isUuid(id)) throw new NotFoundError('No such coupon');
    const row = await unitOfWork(em, async (tx) => {
      const rows = await tx.execute<Array<Record<string, unknown> & { id: string; code: string }>>(`update coupon set enabled = ? where id = ? returning *, ${usedCountOf('coupon')} as used_count`, [enabled, id]);
      if (rows.length === 0) throw new NotFoundError('No such coupon');
      // The row's own id: the argument may spell it in upper case, and the log is searched by the id the API shows.
      await this.deps.audits.record(tx, { actor, action: 'setCouponEnabled', targetType: AuditTargetType.COUPON, targetId: rows[0].id, details: { enabled, code: rows[0].code } });
      return rows[0];
    });
    return em.fork().map(Coupon, row);
  }

  /**
   * Judges a coupon code for a subtotal and prices it: with the coupon when valid, without otherwise.
   * One read of the coupon and the customer's uses of it ({@link couponRead}).
   */
  async judge(em: EntityManager, code: string, planId: string, subtotal: number, customerId: string): Promise<CouponVerdict> {
    const [row] = await query<{ coupon: CouponRows | null }>(em, sql`select ${couponRead(code, customerId)} as coupon`);
    return this.judgeRead(em, row.coupon, planId, subtotal);
  }

  /**
   * As {@link judge}, for what {@link couponRead} read as part of another statement; the coupon becomes a
   * managed entity of `em`.
   */
  judgeRead(em: EntityManager, rows: CouponRows | null, planId: string, subtotal: number): CouponVerdict {
    const coupon = rows ? em.map(Coupon, rows.coupon) : null;
    const rejection = couponRejection(coupon, { now: new Date(), planId, subtotal, usedByCustomer: rows?.used_by_customer ?? 0 });
    const price = priceOrder(subtotal, rejection === null ? coupon : null, this.deps.config.taxRateBps);
    if (price.total > MAX_ORDER_AMOUNT) throw BadUserInputError.field('upgradeIds', 'the order amount is too large');
    return { coupon, rejection, price };
  }

  /**
   * Prices a plan with a coupon for the caller without reserving anything. Rate-limited per caller
   * (COUPON_PREVIEW_RATE_LIMIT per RATE_LIMIT_WINDOW_SECONDS, across instances when Redis is set), so
   * codes cannot be guessed at speed. An unusable coupon is an answer, not an error: `valid: false`,
   * its rejection, and the amounts without it.
   */
  async preview(
    em: EntityManager,
    viewer: Viewer & { customerId: string },
    args: { code: string; planId: string; upgradeIds?: readonly string[] | null },
  ): Promise<CouponPreview> {
    await this.deps.previewLimiter.consume(viewer.customerId);
    const code = this.normaliseCode(args.code, 'code');
    const purchase = await resolvePurchase(em, this.deps.plans, viewer, args.planId, args.upgradeIds);
    const { coupon, rejection, price } = await this.judge(em, code, purchase.plan.id, purchase.subtotal, viewer.customerId);
    const currency = this.deps.config.currency;
    return {
      code: coupon?.code ?? code,
      valid: rejection === null,
      rejection,
      message: couponMessage(code, coupon, rejection, price.discount, currency),
      currency,
      ...price,
    };
  }

  /**
   * Why {@link takeCouponUse} refused a use it was asked for inside `tx`: the coupon re-read against the
   * database clock (disabled, outside its window, or every use taken).
   */
  async refusal(tx: EntityManager, couponId: string): Promise<CouponRejection> {
    const [c] = await query<{ enabled: boolean; not_started: boolean; expired: boolean }>(
      tx,
      sql`select enabled, coalesce(starts_at > now(), false) as not_started, coalesce(ends_at <= now(), false) as expired from coupon where id = ${couponId}::uuid`,
    );
    if (!c) return CouponRejection.NOT_FOUND;
    if (!c.enabled) return CouponRejection.DISABLED;
    if (c.not_started) return CouponRejection.NOT_STARTED;
    if (c.expired) return CouponRejection.EXPIRED;
    return CouponRejection.USAGE_LIMIT_REACHED;
  }
}
