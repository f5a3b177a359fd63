import { ArgsType, Field, ID, Int, ObjectType } from 'type-graphql';
import { OrderType, type OrderSnapshot } from '../order';

/** Most failed events the admin query lists (the oldest still failing first). */
export const FAILED_LIST_LIMIT = 200;

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

/** GraphQL `WebhookEventFailure`: a gateway event kept because its processing keeps failing. */
@ObjectType('WebhookEventFailure', { description: 'A payment gateway event whose processing keeps failing; it is retried with backoff until it succeeds or its tries run out.' })
export class WebhookEventFailureType {
  @Field(() => ID, { description: "The gateway's event id." })
  id: string;

  @Field(() => String, { description: 'The event type, e.g. checkout.session.completed.' })
  type: string;

  @Field(() => String, { description: 'Why its last try failed.' })
  error: string;

  @Field(() => Int, { description: 'Tries so far, the first (when it arrived) included.' })
  attempts: number;

  @Field(() => Date)
  receivedAt: Date;

  @Field(() => Date, { nullable: true })
  lastTriedAt: Date | null;

  @Field(() => Date, { nullable: true, description: 'When it is tried next; null once its tries have run out (an admin must act).' })
  nextTryAt: Date | null;
}
