import type { EntityManager } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import type { AfterCommit } from '../../shared/unit-of-work';
import type { Delivery } from '../delivery';
import { Order, orderLifecycle, OrderStatus, PaymentMethod, toSnapshot, type OrderEvents } from '../order';
import { AccountKind, EntryKind, type LedgerService } from '../wallet';
import { expireOpenCheckouts } from './checkout-expiry';
import { CheckoutStatus } from './payment.entity';
import { issueReceipt } from './receipt';

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
  /** GATEWAY: the Checkout Session that paid (it is COMPLETED; any other open one is expired). */
  sessionId?: string;
  /** Who caused it, recorded on the ledger entries: a customer id or `system:<source>`. */
  actor: string;
}

/** Who paid, as the order's history names it: the paying customer, or `system:gateway`. */
const historyActor = (source: PaymentSource): string => (source.method === PaymentMethod.GATEWAY ? 'system:gateway' : source.actor);

/** What a confirmed payment needs of the delivery module: the delivery it creates. */
export interface PaidOrderDeliveries {
  createForPaidOrder(tx: EntityManager, order: Order, after: AfterCommit): Promise<Delivery>;
}

/** What a confirmed payment needs of the order module: the unpaid-order slot it frees. */
export interface UnpaidSlots {
  releaseUnpaidSlot(tx: EntityManager, order: Order): Promise<void>;
}

/**
 * The one way an order gets paid, shared by wallet and gateway payments. Its guarded status update lets
 * exactly one payment win however many race (wallet, gateway, cancel, timeout) and refuses an order past
 * its `expiresAt` even when the timeout job has not cancelled it yet; the `payment.order_id` unique
 * constraint backs it. Money moves only as balanced ledger journals, inserted (never updated) on the
 * platform accounts, so payments share no hot row.
 */
export class PaymentConfirmation {
  constructor(
    private readonly deps: {
      ledger: LedgerService;
      deliveries: PaidOrderDeliveries;
      orderEvents: OrderEvents;
      unpaidSlots: UnpaidSlots;
    },
  ) {}

  /**
   * Confirms a payment of an order's whole total inside the caller's transaction: a guarded update
   * moves the order PENDING → PAID (raising its version by one) if it has not expired, the Payment row
   * is inserted (one per order) with its receipt, the ledger moves the total from the payer's wallet or
   * the gateway's clearing account into escrow, the unpaid-order slot is freed, the delivery is created NEW, the
   * order's open Checkout Sessions are expired at the gateway after commit, and the new state is
   * published after commit. Returns null, changing nothing, when the order is not PENDING (paid,
   * cancelled or refunded meanwhile), is past its `expiresAt`, or, paid by wallet, is not the payer's
   * own. The caller has checked that the amount paid is the total.
   */
  async confirm(tx: EntityManager, orderId: string, source: PaymentSource, after: AfterCommit): Promise<OrderWithDelivery | null> {
    // A wallet pays only its own customer's orders.
    const ownOrder = source.method === PaymentMethod.WALLET;
    const rows = await tx.execute<Record<string, unknown>[]>(
      `update "order" set status = ?, paid_at = now(), payment_method = ?, expires_at = null, version = version + 1, actor = ?
        where id = ? and status in (?) and expires_at > now()${ownOrder ? ' and customer_id = ?' : ''} returning *`,
      [OrderStatus.PAID, source.method, historyActor(source), orderId, orderLifecycle.from(OrderStatus.PAID), ...(ownOrder ? [source.payerId] : [])],
    );
    if (rows.length === 0) return null;
    const order = tx.map(Order, rows[0]);
    await tx.populate(order, ['plan']);

    // A wallet payment's transaction id is its ledger journal, known before it is posted.
    const journalId = source.method === PaymentMethod.WALLET && order.total > 0 ? randomUUID() : null;
    await tx.execute(`insert into payment (id, order_id, method, amount, currency, payer_id, gateway_ref, journal_id) values (?, ?, ?, ?, ?, ?, ?, ?)`, [
      randomUUID(),
      order.id,
      source.method,
      order.total,
      order.currency,
      source.payerId ?? null,
      source.gatewayRef ?? null,
      journalId,
    ]);
    await issueReceipt(tx, order, order.plan.name);
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
        journalId ? { journalId } : {},
      );
    }
    await this.deps.unpaidSlots.releaseUnpaidSlot(tx, order);
    if (source.sessionId) await tx.execute(`update checkout_session set status = ? where id = ?`, [CheckoutStatus.COMPLETED, source.sessionId]);
    await expireOpenCheckouts(tx, order.id);
    const delivery = await this.deps.deliveries.createForPaidOrder(tx, order, after);
    this.deps.orderEvents.afterCommit(after, toSnapshot(order, delivery));
    return { order, delivery };
  }
}
