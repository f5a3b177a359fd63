import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config';
import type { Orm } from '../../infra/orm';
import type { Stripe } from '../../infra/stripe';
import { formatMoney } from '../../shared/money';
import { OrderStatus } from '../order';
import { CheckoutStatus } from './payment.entity';
import type { PaymentServices } from './payment.services';
import { TopUpStatus } from './top-up.entity';

/** What the payment module's routes use; the server passes its own configuration, ORM and services. */
export interface PaymentRouteDeps {
  config: Config;
  orm: Orm;
  services: { stripe: Stripe | null; payments: PaymentServices };
}

/** Largest webhook body accepted (Stripe's events are a few KB). */
const WEBHOOK_BODY_LIMIT = 1024 * 1024;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Whether a form post comes from this server's own pages: a browser names the page's origin in `Origin`,
 * so a post whose Origin is another site (or `null`) is a cross-site form and is refused. Without the
 * header (curl, older browsers) it is let through: the session id in the path is the secret.
 */
function isEventShaped(event: unknown): event is { id: string; type: string; data: { object: unknown } } {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return false;
  const e = event as Record<string, unknown>;
  return typeof e.id === 'string' && e.id !== '' && typeof e.type === 'string' && e.type !== '' && typeof e.data === 'object' && e.data !== null;
}

function sameOrigin(req: FastifyRequest, publicUrl: string): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  return origin === new URL(publicUrl).origin || origin === `${req.protocol}://${req.host}`;
}


function page(reply: FastifyReply, status: number, title: string, body: string): FastifyReply {
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>` +
        `<meta name="viewport" content="width=device-width, initial-scale=1">` +
        `<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}` +
        `button{font-size:1rem;padding:.5rem 1.5rem;margin-right:.5rem}.note{color:#666;font-size:.9rem}</style>` +
        `</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`,
    );
}

/**
 * The payment module's HTTP routes: Stripe's webhook (raw body, signature verified before anything is
 * parsed), the checkout return pages, and, without Stripe keys outside production, the development
 * gateway's checkout pages.
 */
export async function registerPaymentRoutes(http: FastifyInstance, deps: PaymentRouteDeps): Promise<void> {
  const { config, orm, services } = deps;

  // Own plugin scope: the raw bytes reach the handler, since the signature covers them exactly.
  await http.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT }, (_req, body, done) => done(null, body));
    scope.post('/webhooks/stripe', async (req, reply) => {
      const secret = config.stripe.webhookSecret;
      if (!services.stripe || !secret) return reply.code(400).send({ error: 'Stripe webhooks are not configured' });
      const signature = req.headers['stripe-signature'];
      if (!Buffer.isBuffer(req.body) || typeof signature !== 'string') return reply.code(400).send({ error: 'Missing signature or body' });
      let event;
      try {
        event = services.stripe.webhooks.constructEvent(req.body, signature, secret);
      } catch (e) {
        req.log.warn({ err: (e as Error).message }, 'stripe webhook refused: bad signature');
        return reply.code(400).send({ error: 'Invalid signature' });
      }
      // Signed is not well-formed: only an event with an id and a type can be stored and deduplicated.
      if (!isEventShaped(event)) {
        req.log.warn('stripe webhook refused: the body is not an event');
        return reply.code(400).send({ error: 'The body is not a Stripe event' });
      }
      let outcome;
      try {
        // A failing event is kept with its error and retried by a job: the answer is 2xx once it is stored.
        outcome = await services.payments.events.receive(orm.em.fork(), event, { log: req.log });
      } catch (e) {
        // Not even stored (the database is away): Stripe delivers the event again later.
        req.log.error({ err: e, eventId: event.id, type: event.type }, 'stripe event could not be stored');
        return reply.code(500).send({ error: 'Event could not be stored; retry later' });
      }
      req.log.info({ eventId: event.id, type: event.type, outcome }, 'stripe event');
      return reply.code(200).send({ received: true, outcome });
    });
  });

  // Where the gateway sends the customer back. The order is paid by the gateway's event, never by this redirect.
  // A wallet top-up (`?topUp=`) is credited by the same event, never by this redirect either.
  http.get<{ Querystring: { topUp?: string } }>('/checkout/success', async (req, reply) =>
    req.query.topUp
      ? page(reply, 200, 'Thank you', `<p>Your payment is being confirmed. Your wallet is credited as soon as the payment provider confirms it.</p>`)
      : page(reply, 200, 'Thank you', `<p>Your payment is being confirmed. Your order shows <b>PAID</b> as soon as the payment provider confirms it.</p>`),
  );
  http.get<{ Querystring: { topUp?: string } }>('/checkout/cancel', async (req, reply) =>
    req.query.topUp
      ? page(reply, 200, 'Payment not completed', `<p>No payment was taken; your wallet is unchanged.</p>`)
      : page(reply, 200, 'Payment not completed', `<p>No payment was taken. Your order stays unpaid until it is paid or expires.</p>`),
  );

  const dev = services.payments.dev;
  if (!dev || config.isProduction) return;

  await http.register(async (scope) => {
    // The Pay / Fail forms post urlencoded bodies; they carry nothing the handlers read.
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 1024 }, (_req, body, done) => done(null, body));

    scope.get<{ Params: { id: string } }>('/dev-gateway/checkout/:id', async (req, reply) => {
      const found = await dev.checkout(orm.em.fork(), req.params.id);
      if (!found) return topUpPage(reply, req.params.id);
      const { session, order } = found;
      const id = encodeURIComponent(session.id);
      const payable = session.status === CheckoutStatus.OPEN && dev.payable(session);
      const buttons = payable
        ? `<form method="post" action="/dev-gateway/checkout/${id}/pay" style="display:inline"><button type="submit" name="result" value="pay">Pay</button></form>` +
          `<form method="post" action="/dev-gateway/checkout/${id}/fail" style="display:inline"><button type="submit" name="result" value="fail">Fail</button></form>`
        : `<p>This checkout is ${escapeHtml(dev.payable(session) ? session.status.toLowerCase() : 'expired')}.</p>`;
      return page(
        reply,
        200,
        'Development checkout',
        `<p>Order <b>${escapeHtml(order.number)}</b> · ${escapeHtml(order.plan.name)}</p>` +
          `<p>Amount: <b>${escapeHtml(formatMoney(session.amount, session.currency))}</b> · order status ${escapeHtml(order.status)}</p>` +
          buttons +
          `<p class="note">Development gateway: no money moves. Pay confirms the order through the same path as a verified Stripe ` +
          `<code>checkout.session.completed</code> event.${order.status !== OrderStatus.PENDING ? ' Paying an order that is no longer pending is refunded at once, as with Stripe.' : ''}</p>`,
      );
    });

    scope.post<{ Params: { id: string } }>('/dev-gateway/checkout/:id/pay', async (req, reply) => {
      if (!sameOrigin(req, config.publicUrl)) return page(reply, 403, 'Forbidden', '<p>This checkout can only be paid from its own page.</p>');
      const paid = await dev.pay(orm.em.fork(), req.params.id, req.log);
      if (!paid) return page(reply, 404, 'Unknown checkout', '<p>No such checkout session.</p>');
      if (paid.outcome === 'expired') return page(reply, 410, 'Checkout expired', '<p>This checkout has expired; nothing was paid.</p>');
      return reply.redirect(`${config.publicUrl}/checkout/success?${'orderId' in paid ? `order=${paid.orderId}` : `topUp=${paid.topUpId}`}`, 303);
    });

    scope.post<{ Params: { id: string } }>('/dev-gateway/checkout/:id/fail', async (req, reply) => {
      const found = await dev.checkout(orm.em.fork(), req.params.id);
      if (found) return reply.redirect(`${config.publicUrl}/checkout/cancel?order=${found.order.id}`, 303);
      const topUp = await dev.topUp(orm.em.fork(), req.params.id);
      if (!topUp) return page(reply, 404, 'Unknown checkout', '<p>No such checkout session.</p>');
      return reply.redirect(`${config.publicUrl}/checkout/cancel?topUp=${topUp.id}`, 303);
    });
  });

  /** The development checkout page of a wallet top-up (404 when the session is no top-up's either). */
  async function topUpPage(reply: FastifyReply, sessionId: string): Promise<FastifyReply> {
    const topUp = await dev!.topUp(orm.em.fork(), sessionId);
    if (!topUp) return page(reply, 404, 'Unknown checkout', '<p>No such checkout session.</p>');
    const id = encodeURIComponent(topUp.sessionId);
    const buttons =
      topUp.status === TopUpStatus.OPEN && dev!.topUpPayable(topUp)
        ? `<form method="post" action="/dev-gateway/checkout/${id}/pay" style="display:inline"><button type="submit" name="result" value="pay">Pay</button></form>` +
          `<form method="post" action="/dev-gateway/checkout/${id}/fail" style="display:inline"><button type="submit" name="result" value="fail">Fail</button></form>`
        : `<p>This checkout is ${escapeHtml(topUp.status === TopUpStatus.OPEN ? 'expired' : topUp.status.toLowerCase())}.</p>`;
    return page(
      reply,
      200,
      'Development checkout',
      `<p>Wallet top-up · customer <b>${escapeHtml(topUp.customer.id)}</b></p>` +
        `<p>Amount: <b>${escapeHtml(formatMoney(topUp.amount, topUp.currency))}</b> · ${escapeHtml(topUp.status.toLowerCase())}</p>` +
        buttons +
        `<p class="note">Development gateway: no money moves. Pay credits the wallet through the same path as a verified Stripe ` +
        `<code>checkout.session.completed</code> event.</p>`,
    );
  }
}
