import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, Ctx, Info, Mutation, Query, Resolver } from 'type-graphql';
import { skipValidation } from '../../shared/argument-validation';
import { Role, type CallerContext } from '../../shared/caller';
import { nodeFieldsOf } from '../../shared/connection-fields';
import { CancelOrderArgs, CreateOrderInput, MyOrdersArgs, OrderArgs } from './order.inputs';
import type { OrderActor, OrderCreator, OrderPage, OrderService } from './order.service';
import type { OrderSnapshot } from './order.snapshot';
import { OrderConnection, OrderType } from './order.types';

/** The part of the request context these resolvers use. */
type Context = CallerContext<{ orders: OrderService }>;

/**
 * The caller as the maker of an order (UNAUTHENTICATED without a token): the id alone, its row written
 * only when this process has not seen the caller with this role; the group is read with the plan.
 */
async function creator(ctx: Context): Promise<OrderCreator> {
  return { customerId: await ctx.customerId(), role: ctx.principal!.role, restore: () => ctx.viewer() };
}

/** The caller's id and role alone, for reading and cancelling orders (UNAUTHENTICATED without a token). */
async function actor(ctx: Context): Promise<OrderActor> {
  return { customerId: await ctx.customerId(), role: ctx.principal!.role };
}

/**
 * The caller as the canceller of an order: an admin's row is made sure of first (the audit names it); a
 * customer's only when the cancel needs it (see {@link OrderActor.ensure}), saving a round trip.
 */
async function canceller(ctx: Context): Promise<OrderActor> {
  const principal = ctx.principal;
  if (!principal || principal.role === Role.ADMIN) return actor(ctx);
  return { customerId: principal.sub, role: principal.role, ensure: () => ctx.customerId() };
}

/** Creating, cancelling and reading orders. */
@Resolver(() => OrderType)
export class OrderResolver {
  /**
   * NOT_FOUND (with `order: null`) for an unknown id and a non-UUID id, FORBIDDEN (also with `order:
   * null`) for another customer's order: the field is nullable, so the error nulls only this field.
   */
  @Query(() => OrderType, { nullable: true, description: "One of the caller's orders (admins: any order)." })
  async order(@Args(() => OrderArgs) { id }: OrderArgs, @Ctx() ctx: Context): Promise<OrderSnapshot> {
    return ctx.services.orders.get(ctx.em, await actor(ctx), id);
  }

  /**
   * The arguments are checked by the list itself (`first` 1 to 100, `after` a cursor of this list, both
   * BAD_USER_INPUT naming the argument), so class-validator is not run on them for every page read.
   * The page reads only what the query asks of its orders.
   */
  @Query(() => OrderConnection)
  async myOrders(
    @Args(() => MyOrdersArgs, { validateFn: skipValidation }) args: MyOrdersArgs,
    @Ctx() ctx: Context,
    @Info() info: GraphQLResolveInfo,
  ): Promise<OrderPage> {
    return ctx.services.orders.list(ctx.reader, await actor(ctx), args, nodeFieldsOf(info));
  }

  @Mutation(() => OrderType)
  async createOrder(@Arg('input', () => CreateOrderInput) input: CreateOrderInput, @Ctx() ctx: Context): Promise<OrderSnapshot> {
    return ctx.services.orders.create(ctx.em, await creator(ctx), input);
  }

  @Mutation(() => OrderType)
  async cancelOrder(@Args(() => CancelOrderArgs) { orderId }: CancelOrderArgs, @Ctx() ctx: Context): Promise<OrderSnapshot> {
    return ctx.services.orders.cancel(ctx.em, await canceller(ctx), orderId);
  }
}
