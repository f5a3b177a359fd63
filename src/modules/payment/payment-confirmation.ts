import type { EntityManager } from '@mikro-orm/postgresql';
import { InsufficientBalanceError } from '../../shared/errors';
import { newId } from '../../shared/ids';
import { query, sql, textArray } from '../../shared/sql';
import type { AfterCommit } from '../../shared/unit-of-work';
import { orderLifecycle, OrderStatus, PaymentMethod, snapshotFromRows, type DeliveryRow, type OrderEvents, type OrderRow, type OrderSnapshot } from '../order';

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
      orderEvents: OrderEvents;
      /** Tries of an automatic delivery's job (see the delivery module's `deliveryJobAttempts`). */
      deliveryJobAttempts: number;
    },
  ) {}

  /**
   * Confirms a payment of an order's whole total, inside the caller's transaction or, given an entity
   * manager outside one, as a transaction of its own (it is one statement): a guarded update
   * moves the order PENDING → PAID (raising its version by one) if it has not expired, the Payment row
   * is inserted (one per order) with its receipt, the ledger moves the total from the payer's wallet or
   * the gateway's clearing account into escrow, the unpaid-order slot is freed, the delivery is created
   * NEW with its mail and delivery jobs, the order's other open Checkout Sessions are expired at the
   * gateway by a job, and the new state is published after commit. All of it is one call of the
   * database function `confirm_payment` (migrations/Migration20261202170000_ConfirmPayment.ts, as it
   * stands now Migration20261203140000_PaymentStepCalls.ts): one statement, prepared once per
   * connection, its steps' plans cached by PostgreSQL. Returns null,
   * changing nothing, when the order is not PENDING (paid, cancelled or refunded meanwhile), is past its
   * `expiresAt`, or, paid by wallet, is not the payer's own; INSUFFICIENT_BALANCE when the wallet cannot
   * pay (the caller's transaction then rolls back whole). The caller has checked that the amount paid is
   * the total.
   */
  async confirm(tx: EntityManager, orderId: string, source: PaymentSource, after: AfterCommit): Promise<OrderSnapshot | null> {
    let rows: ConfirmedRow[];
    try {
      rows = await query<ConfirmedRow>(
        tx,
        sql`select paid_order, paid_delivery, plan_provider_id from confirm_payment(${orderId}::uuid, ${textArray(orderLifecycle.from(OrderStatus.PAID))}::text[], ${source.method}, ${source.payerId ?? null},
              ${source.gatewayRef ?? null}, ${source.sessionId ?? null}, ${source.actor}, ${historyActor(source)},
              ${newId()}::uuid, ${newId()}::uuid, ${newId()}::uuid, ${this.deps.deliveryJobAttempts}::int)`,
        { prepared: true },
      );
    } catch (e) {
      if ((e as { code?: string }).code === INSUFFICIENT_BALANCE_SQLSTATE) throw new InsufficientBalanceError();
      throw e;
    }
    if (rows.length === 0) return null;
    const snapshot = snapshotFromRows(rows[0].paid_order, rows[0].paid_delivery, rows[0].plan_provider_id);
    this.deps.orderEvents.afterCommit(after, snapshot);
    return snapshot;
  }
}

/** What `confirm_payment` returns for a payment it made. */
interface ConfirmedRow {
  paid_order: OrderRow;
  paid_delivery: DeliveryRow;
  plan_provider_id: string | null;
}

/** The SQLSTATE `confirm_payment` raises when the wallet cannot pay the total. */
const INSUFFICIENT_BALANCE_SQLSTATE = 'CM402';
