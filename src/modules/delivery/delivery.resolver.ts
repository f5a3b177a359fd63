import { Args, ArgsType, Ctx, Extensions, Field, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { CallerContext } from '../../shared/caller';
import { LIST_ITEMS_EXTENSION } from '../../shared/list-items';
import { DeliveryStatus, OrderType, type OrderSnapshot } from '../order';
import { MY_DELIVERIES_DEFAULT_PAGE } from './delivery.pages';
import type { DeliveryService } from './delivery.service';

/** The part of the request context these resolvers use. */
type Context = CallerContext<{ deliveries: DeliveryService }>;

@ArgsType()
export class MyDeliveriesArgs {
  @Field(() => DeliveryStatus, { nullable: true })
  status?: DeliveryStatus | null;

  /** 1 to 100, default 50 (checked by the service, which says BAD_USER_INPUT outside that range). */
  @Field(() => Int, { nullable: true, description: 'How many, oldest payment first: 1 to 100, default 50.' })
  first?: number | null;
}

@ArgsType()
export class SetDeliveryStatusArgs {
  @Field(() => ID)
  orderId: string;

  @Field(() => DeliveryStatus)
  status: DeliveryStatus;
}

@Resolver(() => OrderType)
export class DeliveryResolver {
  @Query(() => [OrderType], { description: "Provider: the deliveries of the caller's plans waiting for work." })
  @Extensions({ [LIST_ITEMS_EXTENSION]: MY_DELIVERIES_DEFAULT_PAGE })
  async myDeliveries(@Args(() => MyDeliveriesArgs) { status, first }: MyDeliveriesArgs, @Ctx() ctx: Context): Promise<OrderSnapshot[]> {
    const me = await ctx.customer();
    return ctx.services.deliveries.forProvider(ctx.em, me.id, status ?? null, first ?? null);
  }

  @Mutation(() => OrderType, { description: "Admin or the plan's provider. Moves a delivery along its lifecycle." })
  async setDeliveryStatus(@Args(() => SetDeliveryStatusArgs) args: SetDeliveryStatusArgs, @Ctx() ctx: Context): Promise<OrderSnapshot> {
    await ctx.customer();
    return ctx.services.deliveries.setStatus(ctx.em, ctx.principal!, args.orderId, args.status);
  }
}
