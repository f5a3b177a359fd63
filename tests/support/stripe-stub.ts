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
 * A small Stripe-compatible HTTP server for tests: the endpoints the API uses (create and retrieve a
 * Checkout Session, create a refund), form-encoded bodies as the SDK sends them, the Idempotency-Key
 * header honoured by answering the first object again, and every request recorded.
 */
export interface StripeStub {
  url: string;
  requests: StubRequest[];
  mode: StubMode;
  /** Requests to `path` (e.g. '/v1/refunds'), in arrival order. */
  requestsTo(path: string): StubRequest[];
  /** Sessions created, by id. */
  sessions: Map<string, Record<string, unknown>>;
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
  const byKey = new Map<string, { status: number; body: unknown }>();

  const stub: StripeStub = {
    url: '',
    requests,
    mode: 'ok',
    sessions,
    requestsTo: (path) => requests.filter((r) => r.path === path),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  const handle = (method: string, path: string, body: Record<string, string>): { status: number; body: unknown } => {
    if (method === 'POST' && path === '/v1/checkout/sessions') {
      const id = `cs_test_${rand()}`;
      const amount = Number(body['line_items[0][price_data][unit_amount]'] ?? 0) * Number(body['line_items[0][quantity]'] ?? 1);
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
        livemode: false,
      };
      sessions.set(id, session);
      return { status: 200, body: session };
    }
    const get = path.match(/^\/v1\/checkout\/sessions\/([^/]+)$/);
    if (method === 'GET' && get) {
      const s = sessions.get(decodeURIComponent(get[1]));
      return s ? { status: 200, body: s } : { status: 404, body: { error: { type: 'invalid_request_error', message: 'No such checkout.session' } } };
    }
    if (method === 'POST' && path === '/v1/refunds') {
      if (!body.payment_intent && !body.charge) return { status: 400, body: { error: { type: 'invalid_request_error', message: 'payment_intent or charge required' } } };
      return {
        status: 200,
        body: {
          id: `re_${rand()}`,
          object: 'refund',
          amount: Number(body.amount ?? 0),
          payment_intent: body.payment_intent ?? null,
          charge: body.charge ?? null,
          metadata: nested(body, 'metadata'),
          status: 'succeeded',
        },
      };
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
      const cacheKey = idempotencyKey ? `${record.method} ${path} ${idempotencyKey}` : null;
      const replay = cacheKey ? byKey.get(cacheKey) : undefined;
      if (replay) {
        record.outcome = 'replayed';
        res.setHeader('idempotent-replayed', 'true');
        return json(res, replay.status, replay.body);
      }
      const answer = handle(record.method, path, body);
      if (cacheKey && answer.status < 500) byKey.set(cacheKey, answer);
      json(res, answer.status, answer.body);
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
