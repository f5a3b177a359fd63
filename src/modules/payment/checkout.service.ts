import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../../config';
import { BadUserInputError, OrderNotPayableError } from '../../shared/errors';
import { isUuid } from '../../shared/ids';
import type { Sql } from '../../shared/sql';
import { Order, OrderStatus, ownOrRefuse, toSnapshot, type OrderSnapshot } from '../order';
import { expireCheckoutLater, expireOpenCheckoutsOf } from './checkout-expiry';
import { checkoutExpiry, type PaymentGateway } from './gateway';
import { CheckoutSession, CheckoutStatus } from './payment.entity';

/** An open session is handed out again only while it has at least this long to live. */
const REUSE_MARGIN_MS = 60_000;

/**
 * Gateway checkouts: opening a Checkout Session for a pending order, and expiring sessions at the
 * gateway once their order stops waiting for them. The gateway is never called inside a transaction:
 * the order is read, the gateway called, then the session stored by one guarded statement.
 */
export class GatewayCheckoutService {
  constructor(
    private readonly deps: {
      config: Config;
      gateway: PaymentGateway;
    },
  ) {}

  /** Whether checkouts are served by the built-in development gateway. */
  get development(): boolean {
    return this.deps.gateway.isDevelopment;
  }

  /**
   * Opens (or returns the already open) Checkout Session for a PENDING order of `customerId`, for its
   * locked total, expiring with the order (within the gateway's 30 minutes to 24 hours), and returns the
   * order with the checkout URL. The order stays PENDING until the gateway's event confirms the payment.
   * The idempotency key `checkout:<order>:v<version>` (with the number of earlier sessions of the order
   * after the first) makes a retried call reuse the session the gateway already opened.
   *
   * NOT_FOUND for unknown ids, FORBIDDEN for another customer's order; ORDER_NOT_PAYABLE unless PENDING
   * and before its `expiresAt` (checked again when the session is stored); PAYMENT_GATEWAY_UNAVAILABLE
   * after the gateway's retries; BAD_USER_INPUT for a total of 0 (paid with payWithWallet) and for an
   * amount the gateway refuses, with the order unchanged.
   */
  async payWithGateway(em: EntityManager, customerId: string, orderId: string): Promise<{ order: OrderSnapshot; checkoutUrl: string }> {
    const order = await this.ownOrder(em, orderId, customerId);
    if (order.status !== OrderStatus.PENDING) throw new OrderNotPayableError();
    if (!order.expiresAt || order.expiresAt.getTime() <= Date.now()) throw new OrderNotPayableError('This order has expired unpaid; create a new order');
    // ORDER_NOT_PAYABLE is kept for orders that are not PENDING: a free order is payable, just not here.
    if (order.total === 0) throw new BadUserInputError('Nothing to pay through the gateway; use payWithWallet', { field: 'orderId', reason: 'NOTHING_TO_PAY' });
    const sessions = await em.find(CheckoutSession, { orderId: order.id }, { refresh: true });
    const open = this.usable(sessions, order);
    if (open) return { order: toSnapshot(order), checkoutUrl: open.url };

    const { publicUrl } = this.deps.config;
    const expiresAt = checkoutExpiry(new Date(), order.expiresAt);
    const opened = await this.deps.gateway.createCheckout(
      {
        orderId: order.id,
        orderNumber: order.number,
        customerId,
        description: order.plan.name,
        amount: order.total,
        currency: order.currency,
        successUrl: `${publicUrl}/checkout/success?order=${order.id}`,
        cancelUrl: `${publicUrl}/checkout/cancel?order=${order.id}`,
        expiresAt,
      },
      `checkout:${order.id}:v${order.version}${sessions.length ? `:s${sessions.length}` : ''}`,
    );

    // Stored only while the order is still payable; one OPEN session per order (partial unique index):
    // a racing call that stored one first wins. A session about to expire no longer counts as open, and
    // is expired at the gateway too. The order's row is share-locked until commit: a payment, cancel or
    // timeout taking it out of PENDING meanwhile either commits first (nothing is stored) or waits, and
    // then sees this session to expire it.
    const stored = await em.transactional(async (tx) => {
      const replaced = await tx.execute<{ id: string }[]>(
        `update checkout_session set status = ? where order_id = ? and status = ? and expires_at <= now() + make_interval(secs => ?) returning id`,
        [CheckoutStatus.EXPIRED, order.id, CheckoutStatus.OPEN, REUSE_MARGIN_MS / 1000],
      );
      for (const { id } of replaced) await expireCheckoutLater(tx, id);
      return tx.execute(
        `insert into checkout_session (id, order_id, url, amount, currency, status, expires_at)
         select ?, o.id, ?, ?, ?, ?, ? from "order" o where o.id = ? and o.status = ? and o.expires_at > now()
         for share of o
         on conflict do nothing returning id`,
        [opened.id, opened.url, order.total, order.currency, CheckoutStatus.OPEN, expiresAt, order.id, OrderStatus.PENDING],
      );
    });
    if (stored.length) return { order: toSnapshot(order), checkoutUrl: opened.url };
    const winner = this.usable(await em.find(CheckoutSession, { orderId: order.id }, { refresh: true }), order);
    // A session nobody will pay through (the order stopped being payable, or another call stored its
    // own): expire it at the gateway too.
    if (winner?.id !== opened.id) await expireCheckoutLater(em, opened.id);
    if (!winner) throw new OrderNotPayableError();
    return { order: toSnapshot(order), checkoutUrl: winner.url };
  }

  /**
   * Asks, as a step of the statement that takes the orders `orderIds` names out of PENDING, for their
   * open sessions to be expired at the gateway by a job after commit (see {@link expireOpenCheckoutsOf}).
   */
  expireOpenStep(orderIds: Sql): Sql {
    return expireOpenCheckoutsOf(orderIds);
  }

  /**
   * The expiry job: expires one session at the gateway, outside any transaction, and records where it
   * stands (EXPIRED, or COMPLETED when it was paid first: that payment's own event settles it). A
   * session already settled here is left alone; a gateway failure throws, and the job is retried.
   */
  async expireSession(em: EntityManager, sessionId: string): Promise<CheckoutStatus | null> {
    const [row] = await em.execute<{ status: CheckoutStatus }[]>(`select status from checkout_session where id = ?`, [sessionId]);
    if (row && row.status !== CheckoutStatus.OPEN) return row.status;
    const state = await this.deps.gateway.expireCheckout(sessionId);
    const status = state === 'complete' ? CheckoutStatus.COMPLETED : CheckoutStatus.EXPIRED;
    await em.execute(`update checkout_session set status = ? where id = ? and status = ?`, [status, sessionId, CheckoutStatus.OPEN]);
    return status;
  }

  /** The order's open session, if it is for the order's total and has time left to be paid. */
  private usable(sessions: CheckoutSession[], order: Order): CheckoutSession | null {
    const open = sessions.find((s) => s.status === CheckoutStatus.OPEN);
    if (!open || open.amount !== order.total || open.currency !== order.currency) return null;
    return !open.expiresAt || open.expiresAt.getTime() > Date.now() + REUSE_MARGIN_MS ? open : null;
  }

  /** The caller's own order; NOT_FOUND for unknown ids and non-UUIDs, FORBIDDEN for another customer's order. */
  private async ownOrder(em: EntityManager, orderId: string, customerId: string): Promise<Order> {
    const order = isUuid(orderId) ? await em.findOne(Order, { id: orderId }, { populate: ['plan', 'delivery'] }) : null;
    return ownOrRefuse(order, (o) => o.customer.id, customerId);
  }
}
