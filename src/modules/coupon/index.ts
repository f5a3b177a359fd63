/** Coupons: their rules, previews, and the uses an order holds. */
import { Coupon, CouponCustomerUse, CouponUseStripe } from './coupon.entity';
import { CouponResolver } from './coupon.resolver';

export { Coupon, CouponCustomerUse, CouponKind, couponKey, CouponUseStripe } from './coupon.entity';
export {
  couponFacts,
  couponRead,
  couponStill,
  giveBackCouponUses,
  takeCouponUse,
  takeHomeCouponUse,
  takeCustomerUse,
  type CouponFacts,
  type CouponRows,
} from './coupon-uses';
export { CouponRejection, couponMessage, type CouponShown } from './coupon.rules';
export { CouponService } from './coupon.service';
export { CouponResolver };

/** The module's entities, for the ORM. */
export const entities = [Coupon, CouponCustomerUse, CouponUseStripe];
/** The module's resolvers, for the schema. */
export const resolvers = [CouponResolver] as const;
