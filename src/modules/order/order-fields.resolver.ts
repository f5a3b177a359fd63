import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { Context } from '../../context';
import { Money } from '../../shared/types';
import type { Plan, PlanUpgrade } from '../plan/plan.entity';
import { PlanType, PlanUpgradeType } from '../plan/plan.types';
import type { OrderSnapshot } from './order.snapshot';
import { OrderType } from './order.types';

/** Fields of `Order` computed from its snapshot: amounts as Money, plan and upgrades through loaders. */
@Resolver(() => OrderType)
export class OrderFieldsResolver {
  @FieldResolver(() => PlanType)
  async plan(@Root() o: OrderSnapshot, @Ctx() ctx: Context): Promise<Plan> {
    const plan = await ctx.loaders.planById.load(o.planId);
    if (!plan) throw new Error(`order ${o.id} names a missing plan`);
    return plan;
  }

  @FieldResolver(() => [PlanUpgradeType])
  async upgrades(@Root() o: OrderSnapshot, @Ctx() ctx: Context): Promise<PlanUpgrade[]> {
    const rows = await ctx.loaders.upgradeById.loadMany(o.upgradeIds);
    return rows.filter((u): u is PlanUpgrade => !!u && !(u instanceof Error));
  }

  @FieldResolver(() => Money)
  subtotal(@Root() o: OrderSnapshot): Money {
    return new Money(o.subtotal, o.currency);
  }

  @FieldResolver(() => Money)
  discount(@Root() o: OrderSnapshot): Money {
    return new Money(o.discount, o.currency);
  }

  @FieldResolver(() => Money)
  tax(@Root() o: OrderSnapshot): Money {
    return new Money(o.tax, o.currency);
  }

  @FieldResolver(() => Money, { description: 'The payable amount, locked when the order was created.' })
  total(@Root() o: OrderSnapshot): Money {
    return new Money(o.total, o.currency);
  }
}
