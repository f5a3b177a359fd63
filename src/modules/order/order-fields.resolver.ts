import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import { Money } from '../../shared/types';
import { PlanType, PlanUpgradeType, type CataloguePlan, type LoadingContext, type PlanUpgrade } from '../plan';
import type { BoughtUpgrade } from './order.entity';
import type { OrderSnapshot } from './order.snapshot';
import { OrderType } from './order.types';

/** The part of the request context these resolvers use. */
type Context = LoadingContext;

/** Fields of `Order` computed from its snapshot: amounts as Money, plan and upgrades through loaders. */
@Resolver(() => OrderType)
export class OrderFieldsResolver {
  /**
   * The plan as it is now (not as bought: see `upgrades`), from the instance's copy of plans by id: at
   * once when it holds the plan, so a page of orders whose plans it holds completes without a promise.
   */
  @FieldResolver(() => PlanType)
  plan(@Root() o: OrderSnapshot, @Ctx() ctx: Context): CataloguePlan | Promise<CataloguePlan> {
    return (
      ctx.loaders.knownPlan(o.planId) ??
      ctx.loaders.planViewById.load(o.planId).then((plan) => {
        if (!plan) throw new Error(`order ${o.id} names a missing plan`);
        return plan;
      })
    );
  }

  /** As bought: the names and prices stored with the order, whatever the plan's upgrades are now. */
  @FieldResolver(() => [PlanUpgradeType])
  async upgrades(@Root() o: OrderSnapshot, @Ctx() ctx: Context): Promise<Array<PlanUpgrade | BoughtUpgrade>> {
    if (o.upgrades) return o.upgrades;
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
