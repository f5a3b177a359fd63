import { ArgsType, Field, ID, ObjectType } from 'type-graphql';
import type { OrderSnapshot } from '../order/order.snapshot';
import { OrderType } from '../order/order.types';

/** GraphQL `GatewayCheckout`: the order still PENDING, and where its customer pays. */
@ObjectType('GatewayCheckout')
export class GatewayCheckoutType {
  @Field(() => OrderType)
  order: OrderSnapshot;

  @Field(() => String, { description: 'Where the customer completes payment with the provider.' })
  checkoutUrl: string;
}

/** The one argument of the payment mutations. */
@ArgsType()
export class OrderIdArgs {
  /** Not validated here: any id that names no order of the caller answers NOT_FOUND. */
  @Field(() => ID)
  orderId: string;
}
