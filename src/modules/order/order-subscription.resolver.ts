import { Arg, Ctx, ID, Resolver, Root, Subscription } from 'type-graphql';
import { skipValidation } from '../../shared/argument-validation';
import type { CallerContext } from '../../shared/caller';
import { UnauthenticatedError } from '../../shared/errors';
import type { OrderLiveService } from './order-live.service';
import type { OrderSnapshot } from './order.snapshot';
import { OrderType } from './order.types';

/** The part of the request context these resolvers use. */
type Context = CallerContext<{ live: OrderLiveService }>;

const callerOf = (ctx: Context) => {
  if (!ctx.principal) throw new UnauthenticatedError();
  return ctx.principal;
};

/**
 * Live order status over graphql-ws; each event's payload is already the committed snapshot. The
 * methods run once per event and subscriber (graphql-js executes the selection for every event), so
 * they take nothing they do not need: `orderId` is a plain scalar argument, which type-graphql hands
 * over as it is, where an args class would be built and validated anew for every event. Each starts the
 * event's own reads ({@link CallerContext.freshReads}): the subscription's one context would otherwise
 * answer a later event's history, payment, refund or receipt from what the first event read.
 */
@Resolver(() => OrderType)
export class OrderSubscriptionResolver {
  @Subscription(() => OrderType, {
    description: "Emits the order's current state at once, then every change, in version order.",
    subscribe: ({ args, context }) => {
      const ctx = context as Context;
      return ctx.services.live.watchOrder(() => ctx.fork(), callerOf(ctx), String((args as { orderId: string }).orderId));
    },
  })
  orderUpdated(@Root() order: OrderSnapshot, @Arg('orderId', () => ID, { validateFn: skipValidation }) _orderId: string, @Ctx() ctx: Context): OrderSnapshot {
    ctx.freshReads();
    return order;
  }

  @Subscription(() => OrderType, {
    description: "Every change of any of the caller's orders.",
    subscribe: ({ context }) => {
      const ctx = context as Context;
      return ctx.services.live.watchCustomer(() => ctx.fork(), callerOf(ctx));
    },
  })
  myOrdersUpdated(@Root() order: OrderSnapshot, @Ctx() ctx: Context): OrderSnapshot {
    ctx.freshReads();
    return order;
  }
}
