import { Ctx, Field, FieldResolver, ObjectType, Resolver, Root, registerEnumType } from 'type-graphql';
import type { CallerContext } from '../../shared/caller';
import { Money } from '../../shared/types';
import { OrderStatus, OrderType, PaymentMethod, type OrderSnapshot } from '../order';
import { recordsOf, type PaymentRecord, type ReceiptRecord, type RefundRecord } from './payment-records';
import { RefundStatus } from './payment.entity';

registerEnumType(RefundStatus, {
  name: 'RefundStatus',
  valuesConfig: {
    PENDING: { description: 'Recorded; the gateway has not confirmed it yet.' },
    FAILED: { description: 'The gateway refused it for good; an admin must act (the order stays REFUNDED, the money is in the books).' },
  },
});

/** GraphQL `Payment`: how an order was paid. */
@ObjectType('Payment')
export class PaymentRecordType implements PaymentRecord {
  @Field(() => PaymentMethod)
  method: PaymentMethod;

  @Field(() => Money)
  amount: Money;

  @Field(() => Date)
  paidAt: Date;

  @Field(() => String, { description: "The gateway's payment id (Stripe PaymentIntent), or the ledger journal of a wallet payment." })
  transactionId: string;
}

/** GraphQL `Refund`: an order's refund and where it stands. */
@ObjectType('Refund')
export class RefundRecordType implements RefundRecord {
  @Field(() => Money)
  amount: Money;

  @Field(() => PaymentMethod)
  method: PaymentMethod;

  @Field(() => RefundStatus)
  status: RefundStatus;

  @Field(() => Date)
  createdAt: Date;

  @Field(() => String, { nullable: true, description: "The gateway's refund id, or the ledger journal of a wallet refund; null while pending at the gateway." })
  transactionId: string | null;
}

@ObjectType('ReceiptLine')
export class ReceiptLineType {
  @Field(() => String)
  description: string;

  @Field(() => Money)
  amount: Money;
}

/** GraphQL `Receipt`: issued with the payment, never changed. */
@ObjectType('Receipt')
export class ReceiptType implements ReceiptRecord {
  @Field(() => String, { description: 'Unique and increasing per deployment, e.g. RCT-000042.' })
  number: string;

  @Field(() => Date)
  issuedAt: Date;

  @Field(() => [ReceiptLineType], { description: 'The plan and each upgrade as bought; then the discount as a negative line when there is one.' })
  lines: ReceiptLineType[];

  @Field(() => Money)
  subtotal: Money;

  @Field(() => Money)
  discount: Money;

  @Field(() => Money)
  tax: Money;

  @Field(() => Money)
  total: Money;
}

/**
 * `Order.payment`, `refund` and `receipt`: written in the transaction that pays or refunds the order, so
 * each shows as soon as the order does; an order state that predates them (an older published change)
 * shows none.
 */
@Resolver(() => OrderType)
export class OrderPaymentRecordsResolver {
  @FieldResolver(() => PaymentRecordType, { nullable: true, description: 'How it was paid; null until paid.' })
  async payment(@Root() o: OrderSnapshot, @Ctx() ctx: CallerContext): Promise<PaymentRecord | null> {
    return o.paidAt ? (await recordsOf(ctx, o.id)).payment : null;
  }

  @FieldResolver(() => RefundRecordType, { nullable: true, description: 'Its refund; null unless refunded.' })
  async refund(@Root() o: OrderSnapshot, @Ctx() ctx: CallerContext): Promise<RefundRecord | null> {
    return o.status === String(OrderStatus.REFUNDED) ? (await recordsOf(ctx, o.id)).refund : null;
  }

  @FieldResolver(() => ReceiptType, { nullable: true, description: 'Issued when the order is paid; null before.' })
  async receipt(@Root() o: OrderSnapshot, @Ctx() ctx: CallerContext): Promise<ReceiptRecord | null> {
    return o.paidAt ? (await recordsOf(ctx, o.id)).receipt : null;
  }
}
