import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';

/** One request the stub received. */
export interface StubRequest {
  method: string;
  path: string;
  /** The form-encoded body, flat: `line_items[0][price_data][unit_amount]` → `'1999'`. */
  body: Record<string, string>;
  idempotencyKey: string | null;
  authorization: string | null;
  /** What the stub did: answered, or failed on purpose. */
  outcome: 'ok' | 'replayed' | 'error500' | 'closed';
}

/** How the stub answers: normally, with 500s, or by closing the socket without an answer. */
export type StubMode = 'ok' | 'error500' | 'close';

/**
 * How refund requests are answered (on top of {@link StubMode}): normally; `hang`: the refund is made
 * (as Stripe would) but the answer is held until {@link StripeStub.releaseRefunds} or the client gives
 * up; `refuse`: refused for good with {@link StripeStub.refusal}; `pending`: made, but reported pending.
 */
export type RefundMode = 'ok' | 'hang' | 'refuse' | 'pending';

/** Stripe's smallest and largest Checkout amounts for USD (minor units). */
export const STRIPE_MIN_AMOUNT = 50;
export const STRIPE_MAX_AMOUNT = 99_999_999;

/**
 * A small Stripe-compatible HTTP server for tests: the endpoints the API uses (create, retrieve and
 * expire a Checkout Session; create and retrieve a refund), form-encoded bodies as the SDK sends them,
 * the Idempotency-Key header honoured like Stripe does (the first answer again; another body under the
 * same key is an `idempotency_error`), Stripe's limits on amounts and `expires_at`, and every request
 * recorded. {@link StripeStub.completeCheckout} plays the customer paying a session, and refuses an
 * expired one as Stripe does.
 */
export interface StripeStub {
  url: string;
  requests: StubRequest[];
  mode: StubMode;
  refundMode: RefundMode;
  /** What a refused refund answers (`refundMode: 'refuse'`). */
  refusal: { code: string; message: string };
  /** Requests to `path` (e.g. '/v1/refunds'), in arrival order. */
  requestsTo(path: string): StubRequest[];
  /** Sessions created, by id. */
  sessions: Map<string, Record<string, unknown>>;
  /** Refunds made, by id (a replayed request makes none). */
  refunds: Map<string, Record<string, unknown>>;
  /** Refunds made of one PaymentIntent. */
  refundsOf(paymentIntent: string): Array<Record<string, unknown>>;
  /** Refund requests whose answer is being held now (`refundMode: 'hang'`). */
  held(): number;
  /** Answers every held refund request and stops holding new ones. */
  releaseRefunds(): void;
  /**
   * The customer pays the session: it becomes complete and paid, and the `checkout.session.completed`
   * event Stripe would send is returned. Throws, paying nothing, when the session is not open (expired
   * by the API or by its `expires_at`, or paid already), as Stripe's checkout page refuses it.
   */
  completeCheckout(sessionId: string, opts?: { paymentIntent?: string; eventId?: string }): object;
  close(): Promise<void>;
}

const rand = () => randomBytes(12).toString('hex');

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_${rand()}`, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Rebuilds `metadata[orderId]` style keys into one level of object. */
function nested(body: Record<string, string>, prefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) {
    const m = k.match(new RegExp(`^${prefix}\\[([^\\]]+)\\]$`));
    if (m) out[m[1]] = v;
  }
  return out;
}

/** Starts the stub on a free local port. */
export async function startStripeStub(): Promise<StripeStub> {
  const requests: StubRequest[] = [];
  const sessions = new Map<string, Record<string, unknown>>();
  const refunds = new Map<string, Record<string, unknown>>();
  const byKey = new Map<string, { status: number; body: unknown; params: string }>();
  const heldAnswers = new Set<() => void>();
  const invalid = (message: string, extra: Record<string, string> = {}) => ({ status: 400, body: { error: { type: 'invalid_request_error', message, ...extra } } });
  /** A session whose `expires_at` has passed is expired, as at Stripe. */
  const current = (s: Record<string, unknown>) => {
    if (s.status === 'open' && typeof s.expires_at === 'number' && s.expires_at * 1000 <= Date.now()) s.status = 'expired';
    return s;
  };

  const stub: StripeStub = {
    url: '',
    requests,
    mode: 'ok',
    refundMode: 'ok',
    refusal: { code: 'charge_disputed', message: 'This charge has been disputed and cannot be refunded.' },
    sessions,
    refunds,
    requestsTo: (path) => requests.filter((r) => r.path === path),
    refundsOf: (pi) => [...refunds.values()].filter((r) => r.payment_intent === pi),
    held: () => heldAnswers.size,
    releaseRefunds() {
      stub.refundMode = 'ok';
      for (const answer of [...heldAnswers]) answer();
    },
    completeCheckout(sessionId, opts = {}) {
      const s = sessions.get(sessionId);
      if (!s) throw new Error(`no such checkout session ${sessionId}`);
      if (current(s).status !== 'open') throw new Error(`checkout session ${sessionId} is ${String(s.status)}: it cannot be paid`);
      Object.assign(s, { status: 'complete', payment_status: 'paid', payment_intent: opts.paymentIntent ?? `pi_${rand()}` });
      return {
        id: opts.eventId ?? `evt_${rand()}`,
        object: 'event',
        api_version: '2025-01-01',
        created: Math.floor(Date.now() / 1000),
        livemode: false,
        pending_webhooks: 1,
        type: 'checkout.session.completed',
        data: { object: { ...s } },
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const answer of [...heldAnswers]) answer();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  const handle = (method: string, path: string, body: Record<string, string>): { status: number; body: unknown } => {
    if (method === 'POST' && path === '/v1/checkout/sessions') {
      const id = `cs_test_${rand()}`;
      const amount = Number(body['line_items[0][price_data][unit_amount]'] ?? 0) * Number(body['line_items[0][quantity]'] ?? 1);
      if (amount < STRIPE_MIN_AMOUNT) {
        return invalid(`The Checkout Session's total amount due must add up to at least $0.50 usd`, { code: 'amount_too_small', param: 'line_items[0][price_data][unit_amount]' });
      }
      if (amount > STRIPE_MAX_AMOUNT) {
        return invalid(`The Checkout Session's total amount due must be no more than $999,999.99`, { code: 'amount_too_large', param: 'line_items[0][price_data][unit_amount]' });
      }
      let expiresAt: number | null = null;
      if (body.expires_at !== undefined) {
        expiresAt = Number(body.expires_at);
        const ahead = expiresAt - Date.now() / 1000;
        if (!Number.isInteger(expiresAt) || ahead < 30 * 60 || ahead > 24 * 3600) {
          return invalid('The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.', { param: 'expires_at' });
        }
      }
      const session = {
        id,
        object: 'checkout.session',
        mode: body.mode ?? 'payment',
        url: `https://checkout.stripe.test/c/pay/${id}`,
        amount_total: amount,
        amount_subtotal: amount,
        currency: body['line_items[0][price_data][currency]'] ?? 'usd',
        client_reference_id: body.client_reference_id ?? null,
        metadata: nested(body, 'metadata'),
        payment_intent: null,
        payment_status: 'unpaid',
        status: 'open',
        success_url: body.success_url ?? null,
        cancel_url: body.cancel_url ?? null,
        expires_at: expiresAt ?? Math.floor(Date.now() / 1000) + 24 * 3600,
        livemode: false,
      };
      sessions.set(id, session);
      return { status: 200, body: session };
    }
    const get = path.match(/^\/v1\/checkout\/sessions\/([^/]+)$/);
    if (method === 'GET' && get) {
      const s = sessions.get(decodeURIComponent(get[1]));
      return s ? { status: 200, body: current(s) } : { status: 404, body: { error: { type: 'invalid_request_error', message: 'No such checkout.session' } } };
    }
    const expire = path.match(/^\/v1\/checkout\/sessions\/([^/]+)\/expire$/);
    if (method === 'POST' && expire) {
      const s = sessions.get(decodeURIComponent(expire[1]));
      if (!s) return { status: 404, body: { error: { type: 'invalid_request_error', message: 'No such checkout.session' } } };
      if (current(s).status !== 'open') return invalid(`Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of "${String(s.status)}".`);
      s.status = 'expired';
      return { status: 200, body: s };
    }
    if (method === 'POST' && path === '/v1/refunds') {
      if (!body.payment_intent && !body.charge) return invalid('payment_intent or charge required');
      if (stub.refundMode === 'refuse') return invalid(stub.refusal.message, { code: stub.refusal.code });
      const refund = {
        id: `re_${rand()}`,
        object: 'refund',
        amount: Number(body.amount ?? 0),
        payment_intent: body.payment_intent ?? null,
        charge: body.charge ?? null,
        metadata: nested(body, 'metadata'),
        status: stub.refundMode === 'pending' ? 'pending' : 'succeeded',
      };
      refunds.set(refund.id, refund);
      return { status: 200, body: refund };
    }
    const refund = path.match(/^\/v1\/refunds\/([^/]+)$/);
    if (method === 'GET' && refund) {
      const r = refunds.get(decodeURIComponent(refund[1]));
      return r ? { status: 200, body: r } : { status: 404, body: { error: { type: 'invalid_request_error', message: 'No such refund' } } };
    }
    return { status: 404, body: { error: { type: 'invalid_request_error', message: `Unrecognized request URL (${method}: ${path})` } } };
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const body = Object.fromEntries(new URLSearchParams(raw));
      const path = (req.url ?? '/').split('?')[0];
      const idempotencyKey = (req.headers['idempotency-key'] as string | undefined) ?? null;
      const record: StubRequest = { method: req.method ?? 'GET', path, body, idempotencyKey, authorization: req.headers.authorization ?? null, outcome: 'ok' };
      requests.push(record);
      if (stub.mode === 'close') {
        record.outcome = 'closed';
        req.socket.destroy();
        return;
      }
      if (stub.mode === 'error500') {
        record.outcome = 'error500';
        return json(res, 500, { error: { type: 'api_error', message: 'stub is failing on purpose' } });
      }
      // Held refund answers go out when released, unless the client gave up first.
      const send = (status: number, answer: unknown) => {
        if (stub.refundMode !== 'hang' || path !== '/v1/refunds') return json(res, status, answer);
        const release = () => {
          heldAnswers.delete(release);
          if (!res.destroyed && !res.writableEnded) json(res, status, answer);
        };
        heldAnswers.add(release);
        res.on('close', () => heldAnswers.delete(release));
      };
      const cacheKey = idempotencyKey ? `${record.method} ${path} ${idempotencyKey}` : null;
      const params = JSON.stringify(body);
      const replay = cacheKey ? byKey.get(cacheKey) : undefined;
      if (replay) {
        if (replay.params !== params) {
          return json(res, 400, {
            error: { type: 'idempotency_error', message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.` },
          });
        }
        record.outcome = 'replayed';
        res.setHeader('idempotent-replayed', 'true');
        return send(replay.status, replay.body);
      }
      const answer = handle(record.method, path, body);
      if (cacheKey && answer.status < 500) byKey.set(cacheKey, { ...answer, params });
      send(answer.status, answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return stub;
}

/** The secrets the test servers run with when they talk to the stub. */
export const STRIPE_TEST_KEYS = { STRIPE_SECRET_KEY: 'sk_test_x', STRIPE_WEBHOOK_SECRET: 'whsec_x' } as const;

const signer = new Stripe('sk_test_x');

/**
 * POSTs `event` to the server's `/webhooks/stripe`, signed with Stripe's own test signer.
 * `timestamp` (seconds) signs as of another moment; `secret` signs with another secret.
 */
export async function postWebhook(
  baseUrl: string,
  event: object,
  opts: { secret?: string; timestamp?: number; signature?: string | null } = {},
): Promise<{ status: number; body: any }> {
  const payload = JSON.stringify(event);
  const header =
    opts.signature === null
      ? undefined
      : (opts.signature ?? signer.webhooks.generateTestHeaderString({ payload, secret: opts.secret ?? STRIPE_TEST_KEYS.STRIPE_WEBHOOK_SECRET, timestamp: opts.timestamp }));
  const res = await fetch(`${baseUrl}/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(header ? { 'stripe-signature': header } : {}) },
    body: payload,
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body };
}

/** A Stripe event of `type` about a Checkout Session, as Stripe would send it once the customer paid. */
export function checkoutEvent(
  session: { id: string; amount_total: number; currency: string; orderId: string; payment_intent?: string | null; payment_status?: string },
  type = 'checkout.session.completed',
  id = `evt_${rand()}`,
): object {
  return {
    id,
    object: 'event',
    api_version: '2025-01-01',
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    pending_webhooks: 1,
    type,
    data: {
      object: {
        id: session.id,
        object: 'checkout.session',
        mode: 'payment',
        amount_total: session.amount_total,
        currency: session.currency,
        client_reference_id: session.orderId,
        metadata: { orderId: session.orderId },
        payment_intent: session.payment_intent === undefined ? `pi_${rand()}` : session.payment_intent,
        payment_status: session.payment_status ?? 'paid',
        status: 'complete',
      },
    },
  };
}

/**
 * Stripe's `charge.refunded` for a PaymentIntent charged `amount`, as sent when its refunds are created:
 * `amount_refunded` counts pending refunds too, and the charge lists them with where each stands.
 */
export function chargeRefundedEvent(paymentIntent: string, amount: number, refunds: Array<{ id: string; status: string; metadata: unknown }>): object {
  return {
    id: `evt_${rand()}`,
    object: 'event',
    type: 'charge.refunded',
    data: {
      object: {
        id: `ch_${rand()}`,
        object: 'charge',
        payment_intent: paymentIntent,
        amount,
        amount_refunded: amount,
        refunded: true,
        refunds: { object: 'list', data: refunds.map((r) => ({ object: 'refund', ...r })) },
      },
    },
  };
}
