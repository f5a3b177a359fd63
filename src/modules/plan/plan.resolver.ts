import { Arg, Args, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from 'type-graphql';
import { Role } from '../../shared/caller';
import { Money } from '../../shared/types';
import type { CataloguePlan, CatalogueUpgrade } from './catalogue';
import { Plan, PlanUpgrade } from './plan.entity';
import type { LoadingContext } from './plan.loaders';
import type { PlanService } from './plan.service';
import { AllPlansArgs, CreatePlanInput, PlanArgs, PlanType, PlanUpgradeType, UpdatePlanArgs } from './plan.types';

/** The part of the request context these resolvers use. */
type Context = LoadingContext<{ plans: PlanService }>;

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

  @Query(() => [PlanType], { description: 'Admin. Every plan, whatever its sale status and groups (RETIRED too).' })
  async allPlans(@Args(() => AllPlansArgs) { saleStatus }: AllPlansArgs, @Ctx() ctx: Context): Promise<Plan[]> {
    await ctx.requireAdmin();
    return ctx.services.plans.listAll(ctx.em, saleStatus ?? null);
  }

  @Mutation(() => PlanType, { description: 'Admin.' })
  async createPlan(@Arg('input', () => CreatePlanInput) input: CreatePlanInput, @Ctx() ctx: Context): Promise<Plan> {
    const admin = await ctx.requireAdmin();
    return ctx.services.plans.create(ctx.em, input, admin.id);
  }

  @Mutation(() => PlanType, { description: 'Admin.' })
  async updatePlan(@Args(() => UpdatePlanArgs) { id, input }: UpdatePlanArgs, @Ctx() ctx: Context): Promise<Plan> {
    const admin = await ctx.requireAdmin();
    return ctx.services.plans.update(ctx.em, id, input, admin.id);
  }

  @FieldResolver(() => Money)
  price(@Root() plan: Plan | CataloguePlan, @Ctx() ctx: Context): Money {
    return new Money(plan.price, ctx.config.currency);
  }

  /** Which groups see a plan is the back office's business: other callers get null. */
  @FieldResolver(() => [String], {
    nullable: true,
    description: 'Admins: the customer groups that see the plan (empty: every group); null for other callers.',
  })
  groups(@Root() plan: Plan | CataloguePlan, @Ctx() ctx: Context): string[] | null {
    return ctx.principal?.role === Role.ADMIN ? [...plan.groups] : null;
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
