import { Args, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import type { Context } from '../../context';
import { CustomerType, SetCustomerGroupArgs } from './customer.types';

@Resolver(() => CustomerType)
export class CustomerResolver {
  @Query(() => CustomerType, { description: "The caller's own account." })
  me(@Ctx() ctx: Context): Promise<CustomerType> {
    return ctx.customer();
  }

  @Mutation(() => CustomerType, { description: 'Admin. Puts a customer into a customer group.' })
  async setCustomerGroup(@Args(() => SetCustomerGroupArgs) args: SetCustomerGroupArgs, @Ctx() ctx: Context): Promise<CustomerType> {
    await ctx.requireAdmin();
    return ctx.services.customers.setGroup(ctx.em, args.customerId, args.group);
  }
}
