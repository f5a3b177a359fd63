import { createHash } from 'node:crypto';
import Stripe from 'stripe';
import { PaymentGatewayUnavailableError } from '../../shared/errors';

/** What a checkout is opened for: one order's locked total. */
export interface CheckoutRequest {
  orderId: string;
  orderNumber: string;
  customerId: string;
  description: string;
  /** Minor units. */
  amount: number;
  /** ISO 4217, upper case. */
  currency: string;
  successUrl: string;
  cancelUrl: string;
}

/** A checkout opened at the gateway. */
export interface OpenedCheckout {
  id: string;
  url: string;
}

/**
 * The payment gateway: Stripe, or the built-in development gateway. Every call carries an idempotency
 * key, so retrying one (after a timeout, a crash, a redelivered event) never opens or refunds twice.
 * Failures surface as PAYMENT_GATEWAY_UNAVAILABLE.
 */
export interface PaymentGateway {
  /** True for the local development gateway (its pages are served by this API). */
  readonly isDevelopment: boolean;
  createCheckout(req: CheckoutRequest, idempotencyKey: string): Promise<OpenedCheckout>;
  /** Refunds `amount` of a payment (a PaymentIntent id, or the session id where there is none); returns the refund id. */
  refund(paymentRef: string, amount: number, idempotencyKey: string, metadata: Record<string, string>): Promise<string>;
}

/** A failure reaching Stripe or a Stripe error, as the contract's error (the cause is kept for the log). */
function unavailable(e: unknown): never {
  if (e instanceof PaymentGatewayUnavailableError) throw e;
  const err = new PaymentGatewayUnavailableError();
  (err as { cause?: unknown }).cause = e;
  throw err;
}

/** Stripe Checkout. The SDK retries network errors, 409 and 5xx answers with backoff before giving up. */
export class StripeGateway implements PaymentGateway {
  readonly isDevelopment = false;
  constructor(private readonly stripe: Stripe) {}

  async createCheckout(req: CheckoutRequest, idempotencyKey: string): Promise<OpenedCheckout> {
    try {
      const session = await this.stripe.checkout.sessions.create(
        {
          mode: 'payment',
          line_items: [
            {
              quantity: 1,
              price_data: {
                currency: req.currency.toLowerCase(),
                unit_amount: req.amount,
                product_data: { name: `Order ${req.orderNumber}`, description: req.description.slice(0, 500) || undefined },
              },
            },
          ],
          client_reference_id: req.orderId,
          metadata: { orderId: req.orderId, orderNumber: req.orderNumber, customerId: req.customerId },
          payment_intent_data: { metadata: { orderId: req.orderId } },
          success_url: req.successUrl,
          cancel_url: req.cancelUrl,
        },
        { idempotencyKey },
      );
      if (!session.url) throw new Error(`checkout session ${session.id} has no url`);
      return { id: session.id, url: session.url };
    } catch (e) {
      unavailable(e);
    }
  }

  async refund(paymentRef: string, amount: number, idempotencyKey: string, metadata: Record<string, string>): Promise<string> {
    try {
      const params: Stripe.RefundCreateParams = { amount, metadata };
      // A Checkout payment is refunded through its PaymentIntent.
      params.payment_intent = paymentRef;
      const refund = await this.stripe.refunds.create(params, { idempotencyKey });
      return refund.id;
    } catch (e) {
      unavailable(e);
    }
  }
}

const digest = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 24);

/**
 * The development gateway (no Stripe keys, never in production): checkout pages are served by this API
 * under `/dev-gateway/checkout/<id>`, and their Pay button goes through the same event handler as a
 * verified Stripe webhook. Ids derive from the idempotency key, so a retried call gets the same session.
 */
export class DevGateway implements PaymentGateway {
  readonly isDevelopment = true;
  constructor(private readonly publicUrl: string) {}

  async createCheckout(_req: CheckoutRequest, idempotencyKey: string): Promise<OpenedCheckout> {
    const id = `cs_dev_${digest(idempotencyKey)}`;
    return { id, url: `${this.publicUrl}/dev-gateway/checkout/${id}` };
  }

  async refund(_paymentRef: string, _amount: number, idempotencyKey: string): Promise<string> {
    return `re_dev_${digest(idempotencyKey)}`;
  }
}
