import { BigIntType, Entity, Enum, Index, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { newId } from '../../shared/ids';
import { PaymentMethod } from '../order';

/**
 * The payment that paid an order. `order_id` is unique: whichever ways of paying race, the database
 * accepts one payment per order.
 */
@Entity({ tableName: 'payment' })
export class Payment {
  [OptionalProps]?: 'createdAt' | 'gatewayRef' | 'payerId' | 'journalId';

  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

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

  /** The ledger journal that moved the money of a wallet payment (null for the gateway, or nothing to move). */
  @Property({ type: 'uuid', nullable: true })
  journalId: string | null = null;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  // Inserted by SQL in the guarded update that marks the order PAID (payment-confirmation.ts);
  // nothing builds one here, so there is no constructor to pretend otherwise.
}

/** Where a refund stands at the gateway. Wallet refunds are SUCCEEDED when recorded. */
export enum RefundStatus {
  /** Recorded (order REFUNDED, ledger moved); the gateway has not confirmed it yet. */
  PENDING = 'PENDING',
  SUCCEEDED = 'SUCCEEDED',
  /** The gateway refused it for good: an admin must act. The money is in the books. */
  FAILED = 'FAILED',
}

/**
 * A refund of an order's payment; one per payment. Recorded in the transaction that refunds the
 * order; a gateway refund is then sent to the gateway by a job (see RefundService).
 */
@Entity({ tableName: 'refund' })
export class Refund {
  [OptionalProps]?: 'createdAt' | 'gatewayRef' | 'error' | 'settledAt' | 'journalId';

  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @Property({ type: 'uuid' })
  @Unique({ name: 'refund_payment_unique' })
  paymentId: string;

  @Property({ type: 'uuid' })
  orderId: string;

  @Property({ type: new BigIntType('number') })
  amount: number;

  /** The gateway's refund id; null for wallet refunds and while the gateway has not answered. */
  @Property({ type: 'string', length: 255, nullable: true })
  gatewayRef: string | null = null;

  @Enum({ items: () => RefundStatus })
  status: RefundStatus;

  /** The ledger journal that gave a wallet payment back (null for the gateway, or nothing to move). */
  @Property({ type: 'uuid', nullable: true })
  journalId: string | null = null;

  /** The gateway's last refusal or failure, for the admin who must act on a FAILED refund. */
  @Property({ type: 'text', nullable: true })
  error: string | null = null;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  /** When it became SUCCEEDED or FAILED. */
  @Property({ type: 'datetime', nullable: true })
  settledAt: Date | null = null;

  // Inserted by SQL in RefundService together with the ledger journal that moves the money;
  // nothing builds one here, so there is no constructor to pretend otherwise.
}

export enum CheckoutStatus {
  OPEN = 'OPEN',
  COMPLETED = 'COMPLETED',
  EXPIRED = 'EXPIRED',
}

/**
 * A Stripe Checkout Session opened for an order; at most one open per order. It stays OPEN until the
 * gateway reports it completed or expired (an order leaving PENDING has it expired by a job).
 */
@Entity({ tableName: 'checkout_session' })
@Index({
  name: 'checkout_session_open_order_unique',
  expression: `create unique index "checkout_session_open_order_unique" on "checkout_session" ("order_id") where "status" = 'OPEN'`,
})
export class CheckoutSession {
  [OptionalProps]?: 'status' | 'createdAt' | 'expiresAt';

  /** Stripe's session id (cs_...). */
  @PrimaryKey({ type: 'string', length: 255 })
  id: string;

  /** Indexed: an order's sessions are read whenever its customer asks to pay through the gateway. */
  @Property({ type: 'uuid' })
  @Index({ name: 'checkout_session_order_index' })
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

  /** When the gateway stops accepting payment of it (null: opened before this was recorded). */
  @Property({ type: 'datetime', nullable: true })
  expiresAt: Date | null = null;

  // Inserted by SQL in CheckoutService, only while its order is PENDING and unexpired (insert ... select);
  // nothing builds one here, so there is no constructor to pretend otherwise.
}

export enum GatewayEventStatus {
  PROCESSED = 'PROCESSED',
  /** Its processing failed: kept with the event and the error, retried by a job with backoff. */
  FAILED = 'FAILED',
}

/**
 * Inbox of gateway events: each event id is processed once. An event whose processing fails is kept
 * here (payload, error, attempts, next try) so the webhook can answer 2xx and a job retries it.
 */
@Entity({ tableName: 'gateway_event' })
@Index({
  name: 'gateway_event_failed_index',
  expression: `create index "gateway_event_failed_index" on "gateway_event" ("received_at") where "status" = 'FAILED'`,
})
export class GatewayEvent {
  [OptionalProps]?: 'receivedAt' | 'payload' | 'error' | 'attempts' | 'lastTriedAt' | 'nextAttemptAt';

  @PrimaryKey({ type: 'string', length: 255 })
  id: string;

  @Property({ type: 'string', length: 100 })
  type: string;

  @Enum({ items: () => GatewayEventStatus })
  status: GatewayEventStatus;

  /** The verified event, kept while it has to be retried. */
  @Property({ type: 'json', nullable: true })
  payload: unknown = null;

  /** The last failure's message. */
  @Property({ type: 'text', nullable: true })
  error: string | null = null;

  /** Processing attempts made so far. */
  @Property({ type: 'integer', default: 1 })
  attempts: number = 1;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  receivedAt: Date = new Date();

  @Property({ type: 'datetime', nullable: true })
  lastTriedAt: Date | null = null;

  /** When the retry job tries it next; null once it is processed or given up. */
  @Property({ type: 'datetime', nullable: true })
  nextAttemptAt: Date | null = null;

  // Inserted by SQL in GatewayEventsService (on conflict do nothing: an event is applied once);
  // nothing builds one here, so there is no constructor to pretend otherwise.
}

export enum ChargeOutcome {
  /** Paid the order. */
  APPLIED = 'APPLIED',
  /** Arrived for an order that was cancelled or already paid: refunded through the gateway. */
  REFUNDED = 'REFUNDED',
  /** Amount or currency differed from the order's total: not a payment. */
  MISMATCH = 'MISMATCH',
}

/**
 * A charge the gateway reported (one per checkout session), and what became of it. A charge that pays
 * nothing (MISMATCH, REFUNDED) is refunded by a job after commit: `refundStatus` follows it.
 */
@Entity({ tableName: 'gateway_charge' })
export class GatewayCharge {
  [OptionalProps]?: 'createdAt' | 'refundRef' | 'paymentIntent' | 'refundStatus' | 'refundError';

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

  /** Null for an APPLIED charge (or one of nothing); else where its refund stands. */
  @Enum({ items: () => RefundStatus, nullable: true })
  refundStatus: RefundStatus | null = null;

  @Property({ type: 'text', nullable: true })
  refundError: string | null = null;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  // Inserted by SQL in GatewayEventsService (on conflict: a charge is recorded once);
  // nothing builds one here, so there is no constructor to pretend otherwise.
}
