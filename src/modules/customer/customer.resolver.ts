import { Args, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { CallerContext } from '../../shared/caller';
import { Money } from '../../shared/types';
import type { Customer } from './customer.entity';
import type { BalanceReader, CustomerPage, CustomerService, CustomerView } from './customer.service';
import { CustomerConnection, CustomersArgs, CustomerType, SetCustomerGroupArgs } from './customer.types';

/** The part of the request context these resolvers use. */
type Context = CallerContext<{ customers: CustomerService; ledger: BalanceReader }, Customer>;

@Resolver(() => CustomerType)
export class CustomerResolver {
  @Query(() => CustomerType, { description: "The caller's own account." })
  me(@Ctx() ctx: Context): Promise<CustomerType> {
    return ctx.customer();
  }

  @Query(() => CustomerConnection, { description: 'Admin. Customers whose id contains search (any case), in a group, by id.' })
  async customers(@Args(() => CustomersArgs) args: CustomersArgs, @Ctx() ctx: Context): Promise<CustomerPage> {
    await ctx.requireAdmin();
    return ctx.services.customers.search(ctx.em, args);
  }

  @Mutation(() => CustomerType, { description: 'Admin. Puts a customer into a customer group.' })
  async setCustomerGroup(@Args(() => SetCustomerGroupArgs) args: SetCustomerGroupArgs, @Ctx() ctx: Context): Promise<CustomerType> {
    const admin = await ctx.requireAdmin();
    return ctx.services.customers.setGroup(ctx.em, args.customerId, args.group, admin.id);
  }

  /** Listed customers carry their balance; a single one (`me`, an admin's change) reads it. */
  @FieldResolver(() => Money, { description: "The customer's wallet balance." })
  async balance(@Root() customer: Customer | CustomerView, @Ctx() ctx: Context): Promise<Money> {
    const amount = 'balance' in customer ? customer.balance : await ctx.services.ledger.balance(ctx.em, customer.id);
    return new Money(amount, ctx.config.currency);
  }
}
