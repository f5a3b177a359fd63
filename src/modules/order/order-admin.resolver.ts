import { IsInt, IsOptional, Length, MaxLength, ValidateNested } from 'class-validator';
import type { GraphQLResolveInfo } from 'graphql';
import { Args, ArgsType, Ctx, Field, ID, Info, InputType, Int, Query, Resolver } from 'type-graphql';
import type { CallerContext } from '../../shared/caller';
import { nodeFieldsOf } from '../../shared/connection-fields';
import { searchOrders, type OrderSearchFilter } from './order-search';
import { OrderStatus, PaymentMethod } from './order.entity';
import type { OrderPage } from './order.service';
import { OrderConnection, OrderType } from './order.types';

/** The part of the request context these resolvers use. */
type Context = CallerContext;

/** GraphQL `OrderFilter`: the parts an admin narrows the order list by, combined with AND. */
@InputType('OrderFilter')
export class OrderFilterInput implements OrderSearchFilter {
  @Field(() => OrderStatus, { nullable: true })
  status?: OrderStatus | null;

  @Field(() => ID, { nullable: true })
  @IsOptional()
  @Length(1, 64)
  customerId?: string | null;

  @Field(() => ID, { nullable: true })
  @IsOptional()
  @MaxLength(64)
  planId?: string | null;

  @Field(() => String, { nullable: true, description: 'An order number, e.g. ORD-000123.' })
  @IsOptional()
  @MaxLength(64)
  number?: string | null;

  @Field(() => PaymentMethod, { nullable: true })
  paymentMethod?: PaymentMethod | null;

  @Field(() => Date, { nullable: true, description: 'Orders created at or after this moment.' })
  createdAfter?: Date | null;

  @Field(() => Date, { nullable: true, description: 'Orders created before this moment.' })
  createdBefore?: Date | null;
}

@ArgsType()
export class AdminOrdersArgs {
  @Field(() => OrderFilterInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  filter?: OrderFilterInput | null;

  /** 1 to 100, default 20 (checked by the search, which says BAD_USER_INPUT outside that range). */
  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  first?: number | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(400)
  after?: string | null;
}

/** The back office's order list. */
@Resolver(() => OrderType)
export class OrderAdminResolver {
  @Query(() => OrderConnection, { description: 'Admin. Orders matching the filter, newest first.' })
  async orders(@Args(() => AdminOrdersArgs) args: AdminOrdersArgs, @Ctx() ctx: Context, @Info() info: GraphQLResolveInfo): Promise<OrderPage> {
    await ctx.requireAdmin();
    return searchOrders(ctx.em, args, nodeFieldsOf(info));
  }
}
