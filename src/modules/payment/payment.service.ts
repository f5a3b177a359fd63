import type { EntityManager } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import type { Config } from '../../config';
import { NotFoundError, OrderNotPayableError, OrderNotRefundableError } from '../../shared/errors';
import { isUuid } from '../../shared/ids';
import { unitOfWork, type AfterCommit } from '../../shared/unit-of-work';
import { Delivery, DeliveryStatus } from '../delivery/delivery.entity';
import { deliveryLifecycle } from '../delivery/delivery.fsm';
import type { DeliveryService } from '../delivery/delivery.service';
import { Order, OrderStatus, PaymentMethod } from '../order/order.entity';
import type { OrderEvents } from '../order/order.events';
import { orderLifecycle } from '../order/order.fsm';
import { toSnapshot, type OrderSnapshot } from '../order/order.snapshot';
import type { LedgerService } from '../wallet/ledger.service';
import { AccountKind, EntryKind } from '../wallet/wallet.entity';
import type { PaymentGateway } from './gateway';
import { ChargeOutcome, CheckoutSession, CheckoutStatus } from './payment.entity';

/** An order together with its delivery, as a payment or a refund left them. */
export interface OrderWithDelivery {
  order: Order;
  delivery: Delivery | null;
}

/** How a confirmed payment was made. */
export interface PaymentSource {
  method: PaymentMethod;
  /** WALLET: the customer whose wallet pays. */
  payerId?: string;
  /** GATEWAY: the PaymentIntent (or, without one, the Checkout Session) that paid. */
  gatewayRef?: string;
  /** Who caused it, recorded on the ledger entries: a customer id or `system:<source>`. */
  actor: string;
}

/** A Stripe event as this service reads it (a verified webhook's, or one built by the development gateway). */
export interface GatewayEventInput {
  id: string;
  type: string;
  data: { object: unknown };
}

/** The fields of a Checkout Session that settle a payment. */
interface CheckoutSessionObject {
  id: string;
  amount_total?: number | null;
  currency?: string | null;
  payment_status?: string | null;
  payment_intent?: string | { id: string } | null;
  client_reference_id?: string | null;
  metadata?: Record<string, string> | null;
}

/** Where payment events are logged (pino's signature). */
export interface PaymentLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const silent: PaymentLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** What became of a gateway event. */
export type EventOutcome = 'processed' | 'duplicate' | 'ignored';

/**
 * Payments: from the wallet, through the gateway (Stripe Checkout and its webhooks, or the development
 * gateway), and refunds. Every path that pays an order goes through {@link PaymentService.confirmPayment},
 * whose guarded status update lets exactly one payment win however many race (wallet, gateway, cancel,
 * timeout); the `payment.order_id` unique constraint backs it. Money moves only as balanced ledger
 * journals, inserted (never updated) on the platform accounts, so payments share no hot row.
 */
export class PaymentService {
  constructor(
    private readonly deps: {
      config: Config;
      ledger: LedgerService;
      deliveries: DeliveryService;
      orderEvents: OrderEvents;
      gateway: PaymentGateway;
      /** Frees the unpaid-order slot of an order leaving PENDING (the order module's, when it is wired). */
      releaseUnpaidSlot?: (tx: EntityManager, order: { customer: { id: string } }) => Promise<void>;
    },
  ) {}

  /** Whether checkouts are served by the built-in development gateway. */
  get devGateway(): boolean {
    return this.deps.gateway.isDevelopment;
  }

  /**
   * Pays a PENDING order of `customerId` from their wallet, as one unit of work: the order becomes PAID,
   * the wallet is debited into escrow (INSUFFICIENT_BALANCE rolls back everything), the delivery is
   * created, and the change is published after commit. NOT_FOUND for unknown ids and other customers'
   * orders; ORDER_NOT_PAYABLE unless PENDING (also for the loser of any payment or cancel race).
   */
  async payWithWallet(em: EntityManager, customerId: string, orderId: string): Promise<OrderSnapshot> {
    if (!isUuid(orderId)) throw new NotFoundError('No such order');
    return unitOfWork(em, async (tx, after) => {
      // The guarded update checks ownership too (a wallet pays its own customer's orders only), so the
      // happy path costs no extra read; a refusal reads the owner to tell NOT_FOUND from not payable.
      const paid = await this.confirmPayment(tx, orderId, { method: PaymentMethod.WALLET, payerId: customerId, actor: customerId }, after);
      if (paid) return toSnapshot(paid.order, paid.delivery);
      const [owner] = await tx.execute<{ customer_id: string }[]>(`select customer_id from "order" where id = ?`, [orderId]);
      if (owner?.customer_id !== customerId) throw new NotFoundError('No such order');
      throw new OrderNotPayableError();
    });
  }

  /**
   * Confirms a payment of an order's whole total inside the caller's transaction, for every way of
   * paying: a guarded update moves the order PENDING → PAID (raising its version by one), the Payment
   * row is inserted (one per order), the ledger moves the total from the payer's wallet or the gateway's
   * clearing account into escrow, the unpaid-order slot is freed, the delivery is created NEW, and the
   * new state is published after commit. Returns null, changing nothing, when the order is not PENDING
   * (paid, cancelled or refunded meanwhile) or, paid by wallet, is not the payer's own. The caller has
   * checked that the amount paid is the total.
   */
  async confirmPayment(tx: EntityManager, orderId: string, source: PaymentSource, after: AfterCommit): Promise<OrderWithDelivery | null> {
    // A wallet pays only its own customer's orders.
    const ownOrder = source.method === PaymentMethod.WALLET;
    const rows = await tx.execute<Record<string, unknown>[]>(
      `update "order" set status = ?, paid_at = now(), payment_method = ?, expires_at = null, version = version + 1
        where id = ? and status in (?)${ownOrder ? ' and customer_id = ?' : ''} returning *`,
      [OrderStatus.PAID, source.method, orderId, orderLifecycle.from(OrderStatus.PAID), ...(ownOrder ? [source.payerId] : [])],
    );
    if (rows.length === 0) return null;
    const order = tx.map(Order, rows[0]);
    await tx.populate(order, ['plan']);

    await tx.execute(`insert into payment (id, order_id, method, amount, currency, payer_id, gateway_ref) values (?, ?, ?, ?, ?, ?, ?)`, [
      randomUUID(),
      order.id,
      source.method,
      order.total,
      order.currency,
      source.payerId ?? null,
      source.gatewayRef ?? null,
    ]);
    if (order.total > 0) {
      const from =
        source.method === PaymentMethod.WALLET
          ? { account: AccountKind.WALLET, customerId: source.payerId }
          : { account: AccountKind.GATEWAY_CLEARING };
      await this.deps.ledger.post(
        tx,
        [
          { ...from, amount: -order.total, kind: EntryKind.PAYMENT, orderId: order.id },
          { account: AccountKind.ESCROW, amount: order.total, kind: EntryKind.PAYMENT, orderId: order.id },
        ],
        source.actor,
      );
    }
    await this.releaseUnpaidSlot(tx, order);
    const delivery = await this.deps.deliveries.createForPaidOrder(tx, order, after);
    this.deps.orderEvents.afterCommit(after, toSnapshot(order, delivery));
    return { order, delivery };
  }

  /**
   * Opens (or returns the already open) Stripe Checkout Session for a PENDING order of `customerId`, for
   * its locked total, and returns the order with the checkout URL. The order stays PENDING until the
   * gateway's event confirms the payment. The idempotency key `checkout:<order>:v<version>` makes a
   * retried call reuse the session Stripe already opened. PAYMENT_GATEWAY_UNAVAILABLE after the
   * gateway's retries, with the order unchanged.
   */
  async payWithGateway(em: EntityManager, customerId: string, orderId: string): Promise<{ order: OrderSnapshot; checkoutUrl: string }> {
    const order = await this.ownOrder(em, orderId, customerId);
    if (order.status !== OrderStatus.PENDING) throw new OrderNotPayableError();
    if (order.total === 0) throw new OrderNotPayableError('Nothing to pay through the gateway: pay this order with payWithWallet');
    const open = await this.openCheckout(em, order);
    if (open) return { order: toSnapshot(order), checkoutUrl: open.url };

    const { publicUrl } = this.deps.config;
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
      },
      `checkout:${order.id}:v${order.version}`,
    );
    // One OPEN session per order (partial unique index): a racing call that stored one first wins.
    await em.execute(
      `insert into checkout_session (id, order_id, url, amount, currency, status) values (?, ?, ?, ?, ?, ?) on conflict do nothing`,
      [opened.id, order.id, opened.url, order.total, order.currency, CheckoutStatus.OPEN],
    );
    const stored = await this.openCheckout(em, order);
    return { order: toSnapshot(order), checkoutUrl: stored?.url ?? opened.url };
  }

  /**
   * Handles one verified gateway event as one unit of work on `em` (a fork of its own). The event id is
   * claimed first in `gateway_event` (`on conflict do nothing`): a redelivered event, even one arriving
   * while the first is being processed, does nothing. `checkout.session.completed` (paid) and
   * `checkout.session.async_payment_succeeded` settle the session's charge; other types are ignored.
   * Throws when the work fails (nothing is kept, so the gateway delivers the event again).
   */
  async handleEvent(em: EntityManager, event: GatewayEventInput, opts: { log?: PaymentLog; actor?: string } = {}): Promise<EventOutcome> {
    const log = opts.log ?? silent;
    const actor = opts.actor ?? 'system:stripe';
    return unitOfWork(
      em,
      async (tx, after) => {
        const claimed = await tx.execute<{ id: string }[]>(`insert into gateway_event (id, type) values (?, ?) on conflict (id) do nothing returning id`, [
          String(event.id).slice(0, 255),
          String(event.type).slice(0, 100),
        ]);
        if (claimed.length === 0) return 'duplicate';
        const session = event.data?.object as CheckoutSessionObject;
        switch (event.type) {
          case 'checkout.session.completed':
            // Delayed payment methods complete the session unpaid and succeed later in their own event.
            if (session.payment_status !== 'paid') return 'ignored';
            await this.settleCharge(tx, session, actor, after, log);
            return 'processed';
          case 'checkout.session.async_payment_succeeded':
            await this.settleCharge(tx, session, actor, after, log);
            return 'processed';
          case 'checkout.session.expired':
            await tx.execute(`update checkout_session set status = ? where id = ? and status = ?`, [CheckoutStatus.EXPIRED, session.id, CheckoutStatus.OPEN]);
            return 'processed';
          default:
            return 'ignored';
        }
      },
      (e) => log.error({ err: e }, 'after-commit task failed'),
    );
  }

  /**
   * Applies the money of one paid Checkout Session of one of our orders, once (`gateway_charge` is
   * keyed by session id):
   * to its order when the amount and currency are the order's total and the order is still PENDING;
   * otherwise it is refunded through the gateway at once and recorded (MISMATCH, or REFUNDED for an order
   * cancelled or already paid another way), and the order keeps its state. No paid money is dropped.
   */
  private async settleCharge(tx: EntityManager, s: CheckoutSessionObject, actor: string, after: AfterCommit, log: PaymentLog): Promise<void> {
    const paymentIntent = typeof s.payment_intent === 'string' ? s.payment_intent : (s.payment_intent?.id ?? null);
    const amount = Number(s.amount_total ?? 0);
    const currency = String(s.currency ?? '').toUpperCase();
    const ref = s.metadata?.orderId ?? s.client_reference_id ?? null;
    const order = isUuid(ref) ? await tx.findOne(Order, { id: ref }) : null;
    if (!order) {
      // Not a checkout of ours (the Stripe account may serve other systems): leave that money alone.
      log.warn({ sessionId: s.id, ref }, 'gateway payment names no order of ours: ignored');
      return;
    }
    const claimed = await tx.execute<{ session_id: string }[]>(
      `insert into gateway_charge (session_id, order_id, payment_intent, amount, currency, outcome) values (?, ?, ?, ?, ?, ?)
       on conflict (session_id) do nothing returning session_id`,
      [s.id, order.id, paymentIntent, amount, currency.slice(0, 3), ChargeOutcome.APPLIED],
    );
    if (claimed.length === 0) {
      log.info({ sessionId: s.id, orderId: order.id }, 'gateway charge already settled');
      return;
    }
    const charge = { sessionId: s.id, orderId: order.id, paymentIntent, amount, currency };
    if (amount !== order.total || currency !== order.currency) {
      log.warn({ ...charge, expected: { amount: order.total, currency: order.currency } }, 'gateway payment does not match the order total: not a payment, refunding it');
      await this.refundCharge(tx, charge, ChargeOutcome.MISMATCH, actor);
      return;
    }
    const paid = await this.confirmPayment(tx, order.id, { method: PaymentMethod.GATEWAY, gatewayRef: paymentIntent ?? s.id, actor }, after);
    if (!paid) {
      const [now] = await tx.execute<{ status: string }[]>(`select status from "order" where id = ?`, [order.id]);
      log.warn({ ...charge, status: now?.status }, 'gateway payment for an order that is no longer pending: refunding it');
      await this.refundCharge(tx, charge, ChargeOutcome.REFUNDED, actor);
      return;
    }
    await tx.execute(`update checkout_session set status = ? where id = ?`, [CheckoutStatus.COMPLETED, s.id]);
  }

  /**
   * Sends a charge that pays nothing back through the gateway (idempotency key per session, so a
   * retried event asks once) and records it. In the ledger the money passes through the clearing
   * account in and out in one journal, so the books show it and still balance.
   */
  private async refundCharge(
    tx: EntityManager,
    c: { sessionId: string; orderId: string | null; paymentIntent: string | null; amount: number; currency: string },
    outcome: ChargeOutcome,
    actor: string,
  ): Promise<void> {
    let refundRef: string | null = null;
    if (c.amount > 0) {
      if (c.currency === this.deps.config.currency) {
        await this.deps.ledger.post(
          tx,
          [
            { account: AccountKind.GATEWAY_CLEARING, amount: -c.amount, kind: EntryKind.PAYMENT, orderId: c.orderId },
            { account: AccountKind.GATEWAY_CLEARING, amount: c.amount, kind: EntryKind.REFUND, orderId: c.orderId },
          ],
          actor,
        );
      }
      refundRef = await this.deps.gateway.refund(c.paymentIntent ?? c.sessionId, c.amount, `refund:charge:${c.sessionId}`, {
        sessionId: c.sessionId,
        ...(c.orderId ? { orderId: c.orderId } : {}),
      });
    }
    await tx.execute(`update gateway_charge set outcome = ?, refund_ref = ? where session_id = ?`, [outcome, refundRef, c.sessionId]);
  }

  /**
   * Admin: refunds a PAID order whose delivery has not completed, as one unit of work (see
   * {@link PaymentService.refundPaidOrder}). NOT_FOUND for unknown ids; ORDER_NOT_REFUNDABLE otherwise.
   */
  async refundOrder(em: EntityManager, orderId: string, actor: string): Promise<OrderSnapshot> {
    if (!isUuid(orderId)) throw new NotFoundError('No such order');
    return unitOfWork(em, async (tx, after) => {
      const [row] = await tx.execute<{ id: string }[]>(`select id from "order" where id = ?`, [orderId]);
      if (!row) throw new NotFoundError('No such order');
      const { order, delivery } = await this.refundPaidOrder(tx, { id: orderId }, actor, after);
      return toSnapshot(order, delivery);
    });
  }

  /**
   * Refunds a PAID order inside the caller's transaction: the order becomes REFUNDED and its delivery
   * CANCELLED (unless already CANCELLED in this transaction) as one change (version + 1, published
   * after commit); the whole total leaves escrow, back to the payer's wallet (REFUND entries) or to the
   * gateway's clearing account with a gateway refund (idempotency key per payment); one Refund row per
   * payment. The caller must not raise the order's version for the same change itself.
   *
   * Throws ORDER_NOT_REFUNDABLE when the order is not PAID or its delivery is COMPLETED, and
   * PAYMENT_GATEWAY_UNAVAILABLE when the gateway refund fails; the caller's transaction then rolls back.
   * The gateway is called last, so nothing after it can fail but the commit itself; a retry after such a
   * failure reuses the same idempotency key and never refunds twice.
   *
   * @param tx the caller's transaction
   * @param order the order (only its id is read)
   * @param actor who refunds: an admin's customer id, or `system:<job>`
   * @param after the caller's after-commit list
   * @param opts.publish false when the caller publishes the resulting order itself (default true)
   */
  async refundPaidOrder(
    tx: EntityManager,
    order: { id: string },
    actor: string,
    after: AfterCommit,
    opts: { publish?: boolean } = {},
  ): Promise<OrderWithDelivery> {
    const rows = await tx.execute<Record<string, unknown>[]>(
      `update "order" set status = ?, version = version + 1 where id = ? and status in (?) returning *`,
      [OrderStatus.REFUNDED, order.id, orderLifecycle.from(OrderStatus.REFUNDED)],
    );
    if (rows.length === 0) throw new OrderNotRefundableError();
    const refunded = tx.map(Order, rows[0]);

    const cancelled = await tx.execute<Record<string, unknown>[]>(
      `update delivery set status = ?, updated_at = now() where order_id = ? and status in (?) returning *`,
      [DeliveryStatus.CANCELLED, order.id, deliveryLifecycle.from(DeliveryStatus.CANCELLED)],
    );
    const delivery = cancelled.length
      ? tx.map(Delivery, cancelled[0])
      : await tx.findOne(Delivery, { order: order.id }, { refresh: true });
    await tx.populate(refunded, ['plan']);
    if (delivery && delivery.status !== DeliveryStatus.CANCELLED) {
      throw new OrderNotRefundableError('The delivery of this order is complete; it can no longer be refunded');
    }

    const [payment] = await tx.execute<{ id: string; method: PaymentMethod; amount: string; payer_id: string | null; gateway_ref: string | null }[]>(
      `select id, method, amount, payer_id, gateway_ref from payment where order_id = ?`,
      [order.id],
    );
    if (!payment) throw new Error(`paid order ${order.id} has no payment`);
    const amount = Number(payment.amount);
    const refundId = randomUUID();
    await tx.execute(`insert into refund (id, payment_id, order_id, amount) values (?, ?, ?, ?)`, [refundId, payment.id, order.id, amount]);
    if (amount > 0) {
      const to =
        payment.method === PaymentMethod.WALLET
          ? { account: AccountKind.WALLET, customerId: payment.payer_id ?? refunded.customer.id }
          : { account: AccountKind.GATEWAY_CLEARING };
      await this.deps.ledger.post(
        tx,
        [
          { account: AccountKind.ESCROW, amount: -amount, kind: EntryKind.REFUND, orderId: order.id },
          { ...to, amount, kind: EntryKind.REFUND, orderId: order.id },
        ],
        actor,
      );
      if (payment.method === PaymentMethod.GATEWAY) {
        const ref = await this.deps.gateway.refund(payment.gateway_ref ?? '', amount, `refund:payment:${payment.id}`, { orderId: order.id });
        await tx.execute(`update refund set gateway_ref = ? where id = ?`, [ref, refundId]);
      }
    }
    if (opts.publish !== false) this.deps.orderEvents.afterCommit(after, toSnapshot(refunded, delivery));
    return { order: refunded, delivery };
  }

  /** The checkout session and order behind a development-gateway page, or null. */
  async devCheckout(em: EntityManager, sessionId: string): Promise<{ session: CheckoutSession; order: Order } | null> {
    const session = await em.findOne(CheckoutSession, { id: sessionId });
    if (!session) return null;
    const order = await em.findOne(Order, { id: session.orderId }, { populate: ['plan'] });
    return order ? { session, order } : null;
  }

  /**
   * The development gateway's Pay button: builds the `checkout.session.completed` event Stripe would
   * send for the session and hands it to {@link PaymentService.handleEvent}, the webhook's own path.
   */
  async devPay(em: EntityManager, sessionId: string, log?: PaymentLog): Promise<{ orderId: string } | null> {
    if (!this.devGateway) return null;
    const found = await this.devCheckout(em, sessionId);
    if (!found) return null;
    const { session } = found;
    const event: GatewayEventInput = {
      id: `evt_dev_${session.id}`,
      type: 'checkout.session.completed',
      data: {
        object: {
          id: session.id,
          object: 'checkout.session',
          amount_total: session.amount,
          currency: session.currency.toLowerCase(),
          payment_status: 'paid',
          status: 'complete',
          payment_intent: `pi_dev_${session.id.replace(/^cs_dev_/, '')}`,
          client_reference_id: session.orderId,
          metadata: { orderId: session.orderId },
        },
      },
    };
    await this.handleEvent(em.fork(), event, { log, actor: 'system:dev-gateway' });
    return { orderId: session.orderId };
  }

  private async openCheckout(em: EntityManager, order: Order): Promise<CheckoutSession | null> {
    const open = await em.findOne(CheckoutSession, { orderId: order.id, status: CheckoutStatus.OPEN }, { refresh: true });
    return open && open.amount === order.total && open.currency === order.currency ? open : null;
  }

  /** The caller's own order; NOT_FOUND for unknown ids, non-UUIDs and other customers' orders alike. */
  private async ownOrder(em: EntityManager, orderId: string, customerId: string): Promise<Order> {
    const order = isUuid(orderId) ? await em.findOne(Order, { id: orderId }, { populate: ['plan', 'delivery'] }) : null;
    if (!order || order.customer.id !== customerId) throw new NotFoundError('No such order');
    return order;
  }

  private async releaseUnpaidSlot(tx: EntityManager, order: Order): Promise<void> {
    if (this.deps.releaseUnpaidSlot) return this.deps.releaseUnpaidSlot(tx, order);
    await tx.execute(`update customer set unpaid_orders = unpaid_orders - 1 where id = ? and unpaid_orders > 0`, [order.customer.id]);
  }
}
