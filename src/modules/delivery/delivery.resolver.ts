import { Args, ArgsType, Ctx, Field, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { Context } from '../../context';
import type { OrderSnapshot } from '../order/order.snapshot';
import { OrderType } from '../order/order.types';
import { DeliveryStatus } from './delivery.entity';

@ArgsType()
export class MyDeliveriesArgs {
  @Field(() => DeliveryStatus, { nullable: true })
  status?: DeliveryStatus | null;
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
  async myDeliveries(@Args(() => MyDeliveriesArgs) { status }: MyDeliveriesArgs, @Ctx() ctx: Context): Promise<OrderSnapshot[]> {
    const me = await ctx.customer();
    return ctx.services.deliveries.forProvider(ctx.em, me.id, status ?? null);
  }

  @Mutation(() => OrderType, { description: "Admin or the plan's provider. Moves a delivery along its lifecycle." })
  async setDeliveryStatus(@Args(() => SetDeliveryStatusArgs) args: SetDeliveryStatusArgs, @Ctx() ctx: Context): Promise<OrderSnapshot> {
    await ctx.customer();
    return ctx.services.deliveries.setStatus(ctx.em, ctx.principal!, args.orderId, args.status);
  }
}
