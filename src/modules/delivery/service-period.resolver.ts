import { Ctx, Field, FieldResolver, ObjectType, Resolver, Root } from 'type-graphql';
import { CustomerType } from '../customer';
import { PlanType, type LoadingContext, type Plan } from '../plan';

/** The part of the request context these resolvers use. */
type Context = LoadingContext;

/** A customer's service for a plan, started or extended by each delivered order of it. */
@ObjectType('ServicePeriod')
export class ServicePeriodType {
  planId: string;

  @Field(() => Date)
  startsAt: Date;

  @Field(() => Date, { nullable: true, description: 'Null for a one-time service.' })
  endsAt: Date | null;
}

@Resolver(() => ServicePeriodType)
export class ServicePeriodResolver {
  @FieldResolver(() => PlanType)
  async plan(@Root() p: ServicePeriodType, @Ctx() ctx: Context): Promise<Plan> {
    const plan = await ctx.loaders.planById.load(p.planId);
    if (!plan) throw new Error(`service period names a missing plan ${p.planId}`);
    return plan;
  }
}

/** `Customer.services`: the caller's service periods (an addition beside the contract). */
@Resolver(() => CustomerType)
export class CustomerServicesResolver {
  @FieldResolver(() => [ServicePeriodType], { description: 'Services delivered to this customer, latest change first.' })
  async services(@Root() customer: { id: string }, @Ctx() ctx: Context): Promise<ServicePeriodType[]> {
    const rows = await ctx.em.execute<{ plan_id: string; starts_at: Date; ends_at: Date | null }[]>(
      `select plan_id, starts_at, ends_at from service_period where customer_id = ? order by updated_at desc, plan_id`,
      [customer.id],
    );
    return rows.map((r) => Object.assign(new ServicePeriodType(), { planId: r.plan_id, startsAt: new Date(r.starts_at), endsAt: r.ends_at ? new Date(r.ends_at) : null }));
  }
}
