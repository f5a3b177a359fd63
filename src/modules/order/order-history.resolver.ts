import { Ctx, Field, FieldResolver, Int, ObjectType, Resolver, Root } from 'type-graphql';
import type { CallerContext } from '../../shared/caller';
import { historyLoader, type OrderHistoryEntry } from './order-history';
import { DeliveryStatus } from './order.delivery';
import { OrderStatus } from './order.entity';
import type { OrderSnapshot } from './order.snapshot';
import { OrderType } from './order.types';

/** GraphQL `OrderEvent`: one committed change of an order (a row of `order_event`). */
@ObjectType('OrderEvent', { description: 'One committed change of an order.' })
export class OrderEventType implements OrderHistoryEntry {
  @Field(() => Int, { description: "The order's version after this change." })
  version: number;

  @Field(() => Date)
  at: Date;

  @Field(() => OrderStatus)
  status: OrderStatus;

  @Field(() => DeliveryStatus, { nullable: true })
  deliveryStatus: DeliveryStatus | null;

  @Field(() => String, {
    description: 'Who made the change: a customer id (customer, provider or admin), or system:<what> (e.g. system:timeout, system:gateway, system:delivery).',
  })
  actor: string;
}

/** `Order.history`, written by the database itself in the transaction of each change (migration OrderRecords). */
@Resolver(() => OrderType)
export class OrderHistoryResolver {
  @FieldResolver(() => [OrderEventType], { description: 'Every committed change of the order, oldest first: version 1 is its creation.' })
  async history(@Root() o: OrderSnapshot, @Ctx() ctx: CallerContext): Promise<OrderHistoryEntry[]> {
    // A published snapshot may be newer than what this request's reads see; never show past its version.
    const events = await historyLoader(ctx).load(o.id);
    return events.filter((e) => e.version <= o.version);
  }
}
