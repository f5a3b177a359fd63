import { Args, Ctx, Extensions, Mutation, Query, Resolver } from 'type-graphql';
import type { CallerContext } from '../../shared/caller';
import { LIST_ITEMS_EXTENSION } from '../../shared/list-items';
import { OrderType, type OrderSnapshot } from '../order';
import type { PaymentServices } from './payment.services';
import { FAILED_LIST_LIMIT, GatewayCheckoutType, OrderIdArgs, WebhookEventFailureType } from './payment.types';

/** The part of the request context these resolvers use. */
type Context = CallerContext<{ payments: PaymentServices }>;

@Resolver()
export class PaymentResolver {
  @Mutation(() => OrderType)
  async payWithWallet(@Args(() => OrderIdArgs) { orderId }: OrderIdArgs, @Ctx() ctx: Context): Promise<OrderSnapshot> {
    return ctx.services.payments.wallet.payWithWallet(ctx.em, await ctx.customerId(), orderId);
  }

  @Mutation(() => GatewayCheckoutType)
  async payWithGateway(@Args(() => OrderIdArgs) { orderId }: OrderIdArgs, @Ctx() ctx: Context): Promise<GatewayCheckoutType> {
    return ctx.services.payments.checkout.payWithGateway(ctx.em, await ctx.customerId(), orderId);
  }

  @Mutation(() => OrderType, { description: 'Admin. Returns the money of a paid, undelivered order to its payer.' })
  async refundOrder(@Args(() => OrderIdArgs) { orderId }: OrderIdArgs, @Ctx() ctx: Context): Promise<OrderSnapshot> {
    const admin = await ctx.requireAdmin();
    return ctx.services.payments.refunds.refundOrder(ctx.em, orderId, admin.id);
  }

  @Query(() => [WebhookEventFailureType], {
    description: 'Admin. Payment gateway events whose processing keeps failing (oldest first, at most 200): each is retried with backoff, and needs an admin once its tries run out.',
  })
  @Extensions({ [LIST_ITEMS_EXTENSION]: FAILED_LIST_LIMIT })
  async failedWebhookEvents(@Ctx() ctx: Context): Promise<WebhookEventFailureType[]> {
    await ctx.requireAdmin();
    const failed = await ctx.services.payments.events.failedEvents(ctx.em);
    return failed.map(({ nextAttemptAt, ...f }) => ({ ...f, nextTryAt: nextAttemptAt }));
  }
}
