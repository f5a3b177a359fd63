import { BigIntType, Entity, Enum, Index, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { PaymentMethod } from '../order/order.entity';

/**
 * The payment that paid an order. `order_id` is unique: whichever ways of paying race, the database
 * accepts one payment per order.
 */
@Entity({ tableName: 'payment' })
export class Payment {
  [OptionalProps]?: 'createdAt' | 'gatewayRef' | 'payerId';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'uuid' })
  @Unique({ name: 'payment_order_unique' })
  orderId: string;

  @Enum({ items: () => PaymentMethod })
  method: PaymentMethod;

  @Property({ type: new BigIntType('number') })
  amount: number;

  @Property({ type: 'string', length: 3 })
  currency: string;

  /** The customer whose wallet paid, for wallet payments. */
  @Property({ type: 'string', length: 64, nullable: true })
  payerId: string | null = null;

  /** Gateway payment reference (Stripe PaymentIntent or Checkout Session id). */
  @Property({ type: 'string', length: 255, nullable: true })
  gatewayRef: string | null = null;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  constructor(orderId: string, method: PaymentMethod, amount: number, currency: string) {
    this.orderId = orderId;
    this.method = method;
    this.amount = amount;
    this.currency = currency;
  }
}

/** A refund of an order's payment; one per payment. */
@Entity({ tableName: 'refund' })
export class Refund {
  [OptionalProps]?: 'createdAt' | 'gatewayRef';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'uuid' })
  @Unique({ name: 'refund_payment_unique' })
  paymentId: string;

  @Property({ type: 'uuid' })
  orderId: string;

  @Property({ type: new BigIntType('number') })
  amount: number;

  @Property({ type: 'string', length: 255, nullable: true })
  gatewayRef: string | null = null;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  constructor(paymentId: string, orderId: string, amount: number) {
    this.paymentId = paymentId;
    this.orderId = orderId;
    this.amount = amount;
  }
}

export enum CheckoutStatus {
  OPEN = 'OPEN',
  COMPLETED = 'COMPLETED',
  EXPIRED = 'EXPIRED',
}

/** A Stripe Checkout Session opened for an order; at most one open per order. */
@Entity({ tableName: 'checkout_session' })
@Index({
  name: 'checkout_session_open_order_unique',
  expression: `create unique index "checkout_session_open_order_unique" on "checkout_session" ("order_id") where "status" = 'OPEN'`,
})
export class CheckoutSession {
  [OptionalProps]?: 'status' | 'createdAt';

  /** Stripe's session id (cs_...). */
  @PrimaryKey({ type: 'string', length: 255 })
  id: string;

  @Property({ type: 'uuid' })
  orderId: string;

  @Property({ type: 'text' })
  url: string;

  @Property({ type: new BigIntType('number') })
  amount: number;

  @Property({ type: 'string', length: 3 })
  currency: string;

  @Enum({ items: () => CheckoutStatus, default: CheckoutStatus.OPEN })
  status: CheckoutStatus = CheckoutStatus.OPEN;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  constructor(id: string, orderId: string, url: string, amount: number, currency: string) {
    this.id = id;
    this.orderId = orderId;
    this.url = url;
    this.amount = amount;
    this.currency = currency;
  }
}

/** Inbox of gateway events: each event id is processed once. */
@Entity({ tableName: 'gateway_event' })
export class GatewayEvent {
  [OptionalProps]?: 'receivedAt';

  @PrimaryKey({ type: 'string', length: 255 })
  id: string;

  @Property({ type: 'string', length: 100 })
  type: string;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  receivedAt: Date = new Date();

  constructor(id: string, type: string) {
    this.id = id;
    this.type = type;
  }
}

export enum ChargeOutcome {
  /** Paid the order. */
  APPLIED = 'APPLIED',
  /** Arrived for an order that was cancelled or already paid: refunded through the gateway. */
  REFUNDED = 'REFUNDED',
  /** Amount or currency differed from the order's total: not a payment. */
  MISMATCH = 'MISMATCH',
}

/** A charge the gateway reported (one per checkout session), and what became of it. */
@Entity({ tableName: 'gateway_charge' })
export class GatewayCharge {
  [OptionalProps]?: 'createdAt' | 'refundRef' | 'paymentIntent';

  /** Checkout session id: a charge is recorded once, so a repeated event never refunds twice. */
  @PrimaryKey({ type: 'string', length: 255 })
  sessionId: string;

  @Property({ type: 'uuid', nullable: true })
  orderId: string | null;

  @Property({ type: 'string', length: 255, nullable: true })
  paymentIntent: string | null = null;

  @Property({ type: new BigIntType('number') })
  amount: number;

  @Property({ type: 'string', length: 3 })
  currency: string;

  @Enum({ items: () => ChargeOutcome })
  outcome: ChargeOutcome;

  @Property({ type: 'string', length: 255, nullable: true })
  refundRef: string | null = null;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  constructor(sessionId: string, orderId: string | null, amount: number, currency: string, outcome: ChargeOutcome) {
    this.sessionId = sessionId;
    this.orderId = orderId;
    this.amount = amount;
    this.currency = currency;
    this.outcome = outcome;
  }
}
