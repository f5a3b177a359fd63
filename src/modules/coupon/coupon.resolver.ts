import { Arg, Args, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import type { CallerContext } from '../../shared/caller';
import { Money } from '../../shared/types';
import type { Coupon } from './coupon.entity';
import type { CouponPage, CouponService } from './coupon.service';
import { CouponArgs, CouponConnection, CouponPreviewArgs, CouponPreviewType, CouponsArgs, CouponType, CreateCouponInput, SetCouponEnabledArgs } from './coupon.types';

/** The part of the request context these resolvers use. */
type Context = CallerContext<{ coupons: CouponService }>;

/** Coupon administration (admins) and previews (any caller with a token). */
@Resolver(() => CouponType)
export class CouponResolver {
  @Query(() => CouponPreviewType, { description: 'Prices a plan with a coupon for the caller, without reserving anything.' })
  async couponPreview(@Args(() => CouponPreviewArgs) args: CouponPreviewArgs, @Ctx() ctx: Context): Promise<CouponPreviewType> {
    const customer = await ctx.customer();
    const p = await ctx.services.coupons.preview(ctx.em, { ...(await ctx.viewer()), customerId: customer.id }, args);
    return {
      code: p.code,
      valid: p.valid,
      rejection: p.rejection,
      message: p.message,
      subtotal: new Money(p.subtotal, p.currency),
      discount: new Money(p.discount, p.currency),
      tax: new Money(p.tax, p.currency),
      total: new Money(p.total, p.currency),
    };
  }

  @Query(() => CouponType, { nullable: true, description: 'Admin.' })
  async coupon(@Args(() => CouponArgs) { id }: CouponArgs, @Ctx() ctx: Context): Promise<Coupon> {
    await ctx.requireAdmin();
    return ctx.services.coupons.get(ctx.em, id);
  }

  @Query(() => CouponConnection, { description: 'Admin. Coupons, newest first.' })
  async coupons(@Args(() => CouponsArgs) args: CouponsArgs, @Ctx() ctx: Context): Promise<CouponPage> {
    await ctx.requireAdmin();
    return ctx.services.coupons.list(ctx.em, args);
  }

  @Mutation(() => CouponType, { description: 'Admin.' })
  async createCoupon(@Arg('input', () => CreateCouponInput) input: CreateCouponInput, @Ctx() ctx: Context): Promise<Coupon> {
    const admin = await ctx.requireAdmin();
    return ctx.services.coupons.create(ctx.em, input, admin.id);
  }

  @Mutation(() => CouponType, { description: 'Admin.' })
  async setCouponEnabled(@Args(() => SetCouponEnabledArgs) { id, enabled }: SetCouponEnabledArgs, @Ctx() ctx: Context): Promise<Coupon> {
    const admin = await ctx.requireAdmin();
    return ctx.services.coupons.setEnabled(ctx.em, id, enabled, admin.id);
  }
}
