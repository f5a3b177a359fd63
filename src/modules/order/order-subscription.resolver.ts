import { Args, ArgsType, Field, ID, Resolver, Root, Subscription } from 'type-graphql';
import type { CallerContext } from '../../shared/caller';
import { UnauthenticatedError } from '../../shared/errors';
import type { OrderLiveService } from './order-live.service';
import type { OrderSnapshot } from './order.snapshot';
import { OrderType } from './order.types';

/** The part of the request context these resolvers use. */
type Context = CallerContext<{ live: OrderLiveService }>;

@ArgsType()
export class OrderUpdatedArgs {
  @Field(() => ID)
  orderId: string;
}

const callerOf = (ctx: Context) => {
  if (!ctx.principal) throw new UnauthenticatedError();
  return ctx.principal;
};

/** Live order status over graphql-ws; each event's payload is already the committed snapshot. */
@Resolver(() => OrderType)
export class OrderSubscriptionResolver {
  @Subscription(() => OrderType, {
    description: "Emits the order's current state at once, then every change, in version order.",
    subscribe: ({ args, context }) => {
      const ctx = context as Context;
      return ctx.services.live.watchOrder(() => ctx.fork(), callerOf(ctx), String((args as OrderUpdatedArgs).orderId));
    },
  })
  orderUpdated(@Root() order: OrderSnapshot, @Args(() => OrderUpdatedArgs) _args: OrderUpdatedArgs): OrderSnapshot {
    return order;
  }

  @Subscription(() => OrderType, {
    description: "Every change of any of the caller's orders.",
    subscribe: ({ context }) => {
      const ctx = context as Context;
      return ctx.services.live.watchCustomer(() => ctx.fork(), callerOf(ctx));
    },
  })
  myOrdersUpdated(@Root() order: OrderSnapshot): OrderSnapshot {
    return order;
  }
}
