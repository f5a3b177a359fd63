import { Args, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { Context } from '../../context';
import { Money } from '../../shared/types';
import type { CataloguePlan, CatalogueUpgrade } from './catalogue';
import { Plan, PlanUpgrade } from './plan.entity';
import { CreatePlanInput, PlanArgs, PlanType, PlanUpgradeType, UpdatePlanArgs } from './plan.types';
import { Arg } from 'type-graphql';

@Resolver(() => PlanType)
export class PlanResolver {
  @Query(() => [PlanType], { description: "Plans on sale to the caller's customer group." })
  async plans(@Ctx() ctx: Context): Promise<readonly CataloguePlan[]> {
    return ctx.services.plans.listVisible(ctx.em, ctx.principal, () => ctx.viewer());
  }

  @Query(() => PlanType, { nullable: true })
  async plan(@Args(() => PlanArgs) { id }: PlanArgs, @Ctx() ctx: Context): Promise<Plan | null> {
    return ctx.services.plans.findVisible(ctx.em, id, await ctx.viewer());
  }

  @Mutation(() => PlanType, { description: 'Admin.' })
  async createPlan(@Arg('input', () => CreatePlanInput) input: CreatePlanInput, @Ctx() ctx: Context): Promise<Plan> {
    await ctx.requireAdmin();
    return ctx.services.plans.create(ctx.em, input);
  }

  @Mutation(() => PlanType, { description: 'Admin.' })
  async updatePlan(@Args(() => UpdatePlanArgs) { id, input }: UpdatePlanArgs, @Ctx() ctx: Context): Promise<Plan> {
    await ctx.requireAdmin();
    return ctx.services.plans.update(ctx.em, id, input);
  }

  @FieldResolver(() => Money)
  price(@Root() plan: Plan | CataloguePlan, @Ctx() ctx: Context): Money {
    return new Money(plan.price, ctx.config.currency);
  }

  @FieldResolver(() => [PlanUpgradeType])
  upgrades(@Root() plan: Plan | CataloguePlan, @Ctx() ctx: Context): Promise<PlanUpgrade[]> | readonly CatalogueUpgrade[] {
    // Catalogue listings carry their upgrades; plans read as entities load theirs in one batch.
    return plan instanceof Plan ? ctx.loaders.upgradesByPlan.load(plan.id) : plan.upgrades;
  }
}

@Resolver(() => PlanUpgradeType)
export class PlanUpgradeResolver {
  @FieldResolver(() => Money)
  price(@Root() upgrade: PlanUpgrade | CatalogueUpgrade, @Ctx() ctx: Context): Money {
    return new Money(upgrade.price, ctx.config.currency);
  }
}
