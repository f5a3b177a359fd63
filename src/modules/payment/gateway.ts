import { createHash, createHmac, randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import { BadUserInputError, PaymentGatewayUnavailableError } from '../../shared/errors';
import { formatMoney } from '../../shared/money';

/** What a checkout is opened for: one order's locked total (see {@link TopUpCheckoutRequest} for the other kind). */
export interface OrderCheckoutRequest extends CheckoutBase {
  kind?: 'order';
  orderId: string;
  orderNumber: string;
}

/** A checkout that adds its amount to the customer's own wallet once paid (`topUpWallet`). */
export interface TopUpCheckoutRequest extends CheckoutBase {
  kind: 'topUp';
  topUpId: string;
}

/** What a checkout is opened for: an order, or a wallet top-up. */
export type CheckoutRequest = OrderCheckoutRequest | TopUpCheckoutRequest;

/** What every checkout names. */
interface CheckoutBase {
  customerId: string;
  description: string;
  /** Minor units. */
  amount: number;
  /** ISO 4217, upper case. */
  currency: string;
  successUrl: string;
  cancelUrl: string;
  /** When the gateway stops accepting payment of the session (see {@link checkoutExpiry}). */
  expiresAt: Date;
}

/** A checkout opened at the gateway. */
export interface OpenedCheckout {
  id: string;
  url: string;
}

/** Where a checkout session stands at the gateway. */
export type CheckoutState = 'open' | 'complete' | 'expired';

/** A refund as the gateway reports it. */
export interface GatewayRefund {
  /** The gateway's refund id; null when the gateway only told us the charge is already refunded. */
  id: string | null;
  /** Stripe's refund status: `succeeded`, `pending`, `requires_action`, `failed` or `canceled`. */
  status: string;
  /** Why it failed, when it did. */
  failureReason?: string | null;
}

/**
 * The gateway refused a request for good (Stripe's `invalid_request_error` and the like): asking
 * again with the same parameters would be refused again, so retrying is pointless and an admin must act.
 */
export class GatewayRefusedError extends Error {
  constructor(
    message: string,
    readonly code: string | null,
  ) {
    super(message);
    this.name = 'GatewayRefusedError';
  }
}

/**
 * The payment gateway: Stripe, or the built-in development gateway. Every call that creates something
 * carries an idempotency key, so retrying one (after a timeout, a crash, a redelivered event) never
 * opens or refunds twice. No call may be made while a database transaction is open: a gateway that
 * hangs must not hold a connection or a row lock.
 */
export interface PaymentGateway {
  /** True for the local development gateway (its pages are served by this API). */
  readonly isDevelopment: boolean;
  /**
   * Opens a Checkout Session. PAYMENT_GATEWAY_UNAVAILABLE when the gateway cannot be reached or fails;
   * BAD_USER_INPUT when it refuses the amount (below its minimum, above its maximum).
   */
  createCheckout(req: CheckoutRequest, idempotencyKey: string): Promise<OpenedCheckout>;
  /**
   * Expires an open session so it can no longer be paid, and returns where it stands: `expired`, or
   * `complete` when it was paid first. Throws on failures worth retrying.
   */
  expireCheckout(sessionId: string): Promise<CheckoutState>;
  /**
   * Refunds `amount` of a payment (a PaymentIntent id, or the session id where there is none). Throws
   * {@link GatewayRefusedError} when the gateway refuses it for good, anything else when it is worth
   * retrying.
   */
  refund(paymentRef: string, amount: number, idempotencyKey: string, metadata: Record<string, string>): Promise<GatewayRefund>;
  /** Where a refund made earlier stands now (for refunds the gateway answered `pending`). */
  refundState(refundId: string): Promise<GatewayRefund>;
}

/** Stripe accepts `expires_at` from 30 minutes to 24 hours after a session is created. */
const MIN_SESSION_MS = 30 * 60_000;
const MAX_SESSION_MS = 24 * 3600_000;
/** Room for the request's trip and for clocks that differ a little. */
const SESSION_MARGIN_MS = 60_000;

/**
 * When a Checkout Session opened `now` for an order payable until `orderExpiresAt` should expire: the
 * order's own expiry, moved into Stripe's window (at least 30 minutes, at most 24 hours ahead). Below the
 * window the time is rounded up to the minute, so retries within a minute send the same parameters under
 * the same idempotency key (Stripe refuses a key reused with other parameters).
 */
export function checkoutExpiry(now: Date, orderExpiresAt: Date | null): Date {
  const earliest = now.getTime() + MIN_SESSION_MS + SESSION_MARGIN_MS;
  const latest = now.getTime() + MAX_SESSION_MS - 5 * SESSION_MARGIN_MS;
  const wanted = orderExpiresAt?.getTime() ?? latest;
  if (wanted < earliest) return new Date(Math.ceil(earliest / 60_000) * 60_000);
  return new Date(Math.min(Math.floor(wanted / 1000) * 1000, latest));
}

/** A failure reaching Stripe or a Stripe error, as the contract's error (the cause is kept for the log). */
function unavailable(e: unknown): never {
  if (e instanceof PaymentGatewayUnavailableError || e instanceof BadUserInputError) throw e;
  const err = new PaymentGatewayUnavailableError();
  (err as { cause?: unknown }).cause = e;
  throw err;
}

/** A Stripe answer that asking again will not change (as opposed to outages, rate limits, bad keys). */
function isRefusal(e: unknown): e is Stripe.errors.StripeError {
  return e instanceof Stripe.errors.StripeInvalidRequestError || e instanceof Stripe.errors.StripeIdempotencyError || e instanceof Stripe.errors.StripeCardError;
}

/** Stripe Checkout. The SDK retries network errors, 409 and 5xx answers with backoff before giving up. */
export class StripeGateway implements PaymentGateway {
  readonly isDevelopment = false;
  constructor(private readonly stripe: Stripe) {}

  async createCheckout(req: CheckoutRequest, idempotencyKey: string): Promise<OpenedCheckout> {
    const params: Stripe.Checkout.SessionCreateParams = {
      mode: 'payment',
      line_items: [
        {
          quantity: 1,
          price_data: {
            currency: req.currency.toLowerCase(),
            unit_amount: req.amount,
            product_data: {
              name: req.kind === 'topUp' ? 'Wallet top-up' : `Order ${req.orderNumber}`,
              description: req.description.slice(0, 500) || undefined,
            },
          },
        },
      ],
      // The webhook tells a top-up from an order payment by these.
      client_reference_id: req.kind === 'topUp' ? req.topUpId : req.orderId,
      metadata:
        req.kind === 'topUp'
          ? { topUpId: req.topUpId, customerId: req.customerId }
          : { orderId: req.orderId, orderNumber: req.orderNumber, customerId: req.customerId },
      payment_intent_data: { metadata: req.kind === 'topUp' ? { topUpId: req.topUpId } : { orderId: req.orderId } },
      success_url: req.successUrl,
      cancel_url: req.cancelUrl,
      expires_at: Math.floor(req.expiresAt.getTime() / 1000),
    };
    try {
      let session: Stripe.Checkout.Session;
      try {
        session = await this.stripe.checkout.sessions.create(params, { idempotencyKey });
      } catch (e) {
        // The key was first used with another expiry (a retry a minute later): the session it opened,
        // if any, is expired when the order leaves PENDING like any other; open one under a key of its own.
        if (!(e instanceof Stripe.errors.StripeIdempotencyError)) throw e;
        session = await this.stripe.checkout.sessions.create(params, { idempotencyKey: `${idempotencyKey}:${params.expires_at}` });
      }
      if (!session.url) throw new Error(`checkout session ${session.id} has no url`);
      return { id: session.id, url: session.url };
    } catch (e) {
      if (e instanceof Stripe.errors.StripeInvalidRequestError && (e.code === 'amount_too_small' || e.code === 'amount_too_large')) {
        throw amountRefused(e.code, req, e);
      }
      unavailable(e);
    }
  }

  async expireCheckout(sessionId: string): Promise<CheckoutState> {
    try {
      const session = await this.stripe.checkout.sessions.expire(sessionId);
      return (session.status ?? 'expired') as CheckoutState;
    } catch (e) {
      // Stripe refuses to expire a session that is no longer open: ask where it stands instead.
      if (!(e instanceof Stripe.errors.StripeInvalidRequestError)) throw e;
      const session = await this.stripe.checkout.sessions.retrieve(sessionId);
      if (session.status === 'open') throw e;
      return session.status as CheckoutState;
    }
  }

  async refund(paymentRef: string, amount: number, idempotencyKey: string, metadata: Record<string, string>): Promise<GatewayRefund> {
    try {
      // A Checkout payment is refunded through its PaymentIntent.
      const refund = await this.stripe.refunds.create({ payment_intent: paymentRef, amount, metadata }, { idempotencyKey });
      return { id: refund.id, status: refund.status ?? 'pending', failureReason: refund.failure_reason ?? null };
    } catch (e) {
      // We refund whole charges only: a charge already refunded was refunded by an earlier try.
      if (e instanceof Stripe.errors.StripeInvalidRequestError && e.code === 'charge_already_refunded') return { id: null, status: 'succeeded' };
      if (isRefusal(e)) throw new GatewayRefusedError(`${e.code ?? e.type}: ${e.message}`, e.code ?? null);
      throw e;
    }
  }

  async refundState(refundId: string): Promise<GatewayRefund> {
    const refund = await this.stripe.refunds.retrieve(refundId);
    return { id: refund.id, status: refund.status ?? 'pending', failureReason: refund.failure_reason ?? null };
  }
}

/** BAD_USER_INPUT for an amount the gateway does not take, saying which limit it is. */
function amountRefused(code: 'amount_too_small' | 'amount_too_large', req: CheckoutRequest, cause: unknown): BadUserInputError {
  const total = formatMoney(req.amount, req.currency);
  const limit = code === 'amount_too_small' ? 'below the smallest' : 'above the largest';
  const reason = code === 'amount_too_small' ? 'AMOUNT_TOO_SMALL' : 'AMOUNT_TOO_LARGE';
  const err =
    req.kind === 'topUp'
      ? new BadUserInputError(`The top-up amount (${total}) is ${limit} amount the payment provider accepts`, { field: 'amount', reason })
      : new BadUserInputError(`The order's total (${total}) is ${limit} amount the payment provider accepts; pay it with payWithWallet`, { field: 'orderId', reason });
  (err as { cause?: unknown }).cause = cause;
  return err;
}

const digest = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 24);

/**
 * The development gateway (no Stripe keys, never in production): checkout pages are served by this API
 * under `/dev-gateway/checkout/<id>`, and their Pay button goes through the same event handler as a
 * verified Stripe webhook. A session id is an HMAC of the idempotency key under a key of this process,
 * so a retried call gets the same session, yet nobody can work out the session (and pay the order from
 * elsewhere) from the order's id; the session itself is stored by the caller. Nothing leaves the
 * process: expiring a session is recorded in our own table by the caller.
 */
export class DevGateway implements PaymentGateway {
  readonly isDevelopment = true;
  /** Never leaves the process: a session id can only be learnt from payWithGateway's answer. */
  private readonly sessionKey = randomBytes(32);
  constructor(private readonly publicUrl: string) {}

  async createCheckout(_req: CheckoutRequest, idempotencyKey: string): Promise<OpenedCheckout> {
    const id = `cs_dev_${createHmac('sha256', this.sessionKey).update(idempotencyKey).digest('hex').slice(0, 32)}`;
    return { id, url: `${this.publicUrl}/dev-gateway/checkout/${id}` };
  }

  async expireCheckout(): Promise<CheckoutState> {
    return 'expired';
  }

  async refund(_paymentRef: string, _amount: number, idempotencyKey: string): Promise<GatewayRefund> {
    return { id: `re_dev_${digest(idempotencyKey)}`, status: 'succeeded' };
  }

  async refundState(refundId: string): Promise<GatewayRefund> {
    return { id: refundId, status: 'succeeded' };
  }
}
