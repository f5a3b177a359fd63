import Stripe from 'stripe';
import type { Config } from '../config';

/** How long one Stripe API call may take before it counts as a network failure (and is retried). */
export const STRIPE_TIMEOUT_MS = 4_000;
/** Retries after the first attempt, with the SDK's exponential backoff (0.5 s, then 1 s, with jitter). */
export const STRIPE_MAX_RETRIES = 2;

/**
 * The Stripe client for `config.stripe`, or null when no secret key is set (the development gateway
 * stands in then). `STRIPE_API_URL` points it at another Stripe-compatible API, e.g. a local stub.
 */
export function createStripe(stripe: Config['stripe']): Stripe | null {
  if (!stripe.secretKey) return null;
  const options: ConstructorParameters<typeof Stripe>[1] = {
    maxNetworkRetries: STRIPE_MAX_RETRIES,
    timeout: STRIPE_TIMEOUT_MS,
    telemetry: false,
    appInfo: { name: 'plan-commerce-api' },
  };
  if (stripe.apiUrl) {
    const u = new URL(stripe.apiUrl);
    options.host = u.hostname;
    options.protocol = u.protocol === 'http:' ? 'http' : 'https';
    options.port = u.port || (u.protocol === 'http:' ? 80 : 443);
  }
  return new Stripe(stripe.secretKey, options);
}

export type { Stripe };
