import { Args, Ctx, Mutation, Resolver } from 'type-graphql';
import type { Context } from '../../context';
import type { OrderSnapshot } from '../order/order.snapshot';
import { OrderType } from '../order/order.types';
import { GatewayCheckoutType, OrderIdArgs } from './payment.types';

@Resolver()
export class PaymentResolver {
  @Mutation(() => OrderType)
  async payWithWallet(@Args(() => OrderIdArgs) { orderId }: OrderIdArgs, @Ctx() ctx: Context): Promise<OrderSnapshot> {
    return ctx.services.payments.payWithWallet(ctx.em, await ctx.customerId(), orderId);
  }

  @Mutation(() => GatewayCheckoutType)
  async payWithGateway(@Args(() => OrderIdArgs) { orderId }: OrderIdArgs, @Ctx() ctx: Context): Promise<GatewayCheckoutType> {
    return ctx.services.payments.payWithGateway(ctx.em, await ctx.customerId(), orderId);
  }

  @Mutation(() => OrderType, { description: 'Admin. Returns the money of a paid, undelivered order to its payer.' })
  async refundOrder(@Args(() => OrderIdArgs) { orderId }: OrderIdArgs, @Ctx() ctx: Context): Promise<OrderSnapshot> {
    const admin = await ctx.requireAdmin();
    return ctx.services.payments.refundOrder(ctx.em, orderId, admin.id);
  }
}
