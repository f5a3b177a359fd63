import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Connection } from '../../shared/types';
import { DeliveryStatus } from './order.delivery';
import { CancelReason, OrderStatus, PaymentMethod } from './order.entity';

registerEnumType(OrderStatus, {
  name: 'OrderStatus',
  valuesConfig: {
    PENDING: { description: 'Created, amount locked, waiting for payment (Unpaid).' },
    PAID: { description: 'Payment confirmed, waiting for delivery.' },
    DELIVERED: { description: 'Service delivered and active.' },
    CANCELLED: { description: 'Unpaid order cancelled by the customer, an admin, or the payment timeout.' },
    REFUNDED: { description: 'Paid order whose money went back to the payer.' },
  },
});
registerEnumType(CancelReason, { name: 'CancelReason' });
registerEnumType(PaymentMethod, { name: 'PaymentMethod' });
registerEnumType(DeliveryStatus, { name: 'DeliveryStatus' });

/** GraphQL `Delivery`; resolved from a {@link DeliverySnapshot}. */
@ObjectType('Delivery')
export class DeliveryType {
  @Field(() => ID)
  id: string;

  @Field(() => DeliveryStatus)
  status: DeliveryStatus;

  @Field(() => Int)
  attempts: number;

  @Field(() => Date)
  updatedAt: Date;

  @Field(() => Date, { nullable: true })
  completedAt: Date | null;
}

/**
 * GraphQL `Order`. Its source object is always an {@link OrderSnapshot} (from a query or from a
 * published event), so queries and subscriptions answer through the same field resolvers.
 */
@ObjectType('Order')
export class OrderType {
  @Field(() => ID)
  id: string;

  @Field(() => String, { description: 'Human-readable order number, e.g. ORD-000123.' })
  number: string;

  @Field(() => OrderStatus)
  status: OrderStatus;

  @Field(() => String, { nullable: true })
  couponCode: string | null;

  @Field(() => Date)
  createdAt: Date;

  @Field(() => Date, { nullable: true, description: 'When an unpaid order is cancelled by the payment timeout; null once paid or cancelled.' })
  expiresAt: Date | null;

  @Field(() => Date, { nullable: true })
  paidAt: Date | null;

  @Field(() => PaymentMethod, { nullable: true })
  paymentMethod: PaymentMethod | null;

  @Field(() => Date, { nullable: true })
  deliveredAt: Date | null;

  @Field(() => Date, { nullable: true })
  cancelledAt: Date | null;

  @Field(() => CancelReason, { nullable: true })
  cancelReason: CancelReason | null;

  @Field(() => DeliveryType, { nullable: true })
  delivery: DeliveryType | null;

  @Field(() => Int, { description: 'Grows by one with every change of the order or its delivery.' })
  version: number;
}

@ObjectType('OrderConnection')
export class OrderConnection extends Connection('Order', OrderType) {}
