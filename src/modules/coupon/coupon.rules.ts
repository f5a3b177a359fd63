import { registerEnumType } from 'type-graphql';
import { formatMoney } from '../../shared/money';
import { CouponKind, type Coupon } from './coupon.entity';

/** Why a coupon cannot be used (contract enum `CouponRejection`). */
export enum CouponRejection {
  NOT_FOUND = 'NOT_FOUND',
  NOT_STARTED = 'NOT_STARTED',
  EXPIRED = 'EXPIRED',
  DISABLED = 'DISABLED',
  USAGE_LIMIT_REACHED = 'USAGE_LIMIT_REACHED',
  PER_USER_LIMIT_REACHED = 'PER_USER_LIMIT_REACHED',
  MIN_AMOUNT_NOT_MET = 'MIN_AMOUNT_NOT_MET',
  NOT_APPLICABLE = 'NOT_APPLICABLE',
}
registerEnumType(CouponRejection, { name: 'CouponRejection' });

/** What a coupon is judged against. */
export interface CouponUse {
  now: Date;
  planId: string;
  /** Plan price plus upgrades, minor units: what `minAmount` is compared with. */
  subtotal: number;
  /** The customer's live uses of this coupon. */
  usedByCustomer: number;
}

/**
 * The first reason `coupon` cannot be used, or null when it can. Checked in a fixed order, from the
 * coupon itself (missing, disabled, outside its window) to this purchase (plan, minimum) to the
 * counters (all uses, this customer's uses), so a client always gets the most basic reason first.
 * The window is `startsAt <= now < endsAt`.
 */
export function couponRejection(coupon: Coupon | null, use: CouponUse): CouponRejection | null {
  if (!coupon) return CouponRejection.NOT_FOUND;
  if (!coupon.enabled) return CouponRejection.DISABLED;
  if (coupon.startsAt && use.now < coupon.startsAt) return CouponRejection.NOT_STARTED;
  if (coupon.endsAt && use.now >= coupon.endsAt) return CouponRejection.EXPIRED;
  if (coupon.planIds.length > 0 && !coupon.planIds.includes(use.planId)) return CouponRejection.NOT_APPLICABLE;
  if (coupon.minAmount !== null && use.subtotal < coupon.minAmount) return CouponRejection.MIN_AMOUNT_NOT_MET;
  if (coupon.maxUses !== null && coupon.usedCount >= coupon.maxUses) return CouponRejection.USAGE_LIMIT_REACHED;
  if (coupon.maxUsesPerUser !== null && use.usedByCustomer >= coupon.maxUsesPerUser) return CouponRejection.PER_USER_LIMIT_REACHED;
  return null;
}

/** What a sentence about a coupon shows of it. */
export type CouponShown = Pick<Coupon, 'code' | 'kind' | 'value' | 'startsAt' | 'endsAt' | 'minAmount'>;

/** The sentence a person reads about a coupon, valid or not. */
export function couponMessage(code: string, coupon: CouponShown | null, rejection: CouponRejection | null, discount: number, currency: string): string {
  const shown = coupon?.code ?? code;
  switch (rejection) {
    case null: {
      const what = coupon?.kind === CouponKind.PERCENT ? `${coupon.value}% off` : `${formatMoney(coupon?.value ?? 0, currency)} off`;
      return `Coupon ${shown} applies (${what}): you save ${formatMoney(discount, currency)}.`;
    }
    case CouponRejection.NOT_FOUND:
      return `There is no coupon with the code ${shown}.`;
    case CouponRejection.DISABLED:
      return `Coupon ${shown} is no longer available.`;
    case CouponRejection.NOT_STARTED:
      return coupon?.startsAt ? `Coupon ${shown} can be used from ${coupon.startsAt.toISOString()}.` : `Coupon ${shown} cannot be used yet.`;
    case CouponRejection.EXPIRED:
      return coupon?.endsAt ? `Coupon ${shown} expired on ${coupon.endsAt.toISOString()}.` : `Coupon ${shown} has expired.`;
    case CouponRejection.NOT_APPLICABLE:
      return `Coupon ${shown} does not apply to this plan.`;
    case CouponRejection.MIN_AMOUNT_NOT_MET:
      return coupon?.minAmount != null
        ? `Coupon ${shown} needs a subtotal of at least ${formatMoney(coupon.minAmount, currency)}.`
        : `Coupon ${shown} needs a larger subtotal.`;
    case CouponRejection.USAGE_LIMIT_REACHED:
      return `Coupon ${shown} has been used as many times as it allows.`;
    case CouponRejection.PER_USER_LIMIT_REACHED:
      return `You have already used coupon ${shown} as many times as it allows.`;
  }
}
