import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../../config';
import { enqueue } from '../../infra/jobs';
import { NotFoundError, OrderNotRefundableError } from '../../shared/errors';
import { isUuid, newId } from '../../shared/ids';
import { query } from '../../shared/sql';
import { unitOfWork, type AfterCommit } from '../../shared/unit-of-work';
import { AuditTargetType, type AuditService } from '../audit';
import { cancelDeliveryForRefund, MailKind, mailJob, type Delivery } from '../delivery';
import { DeliveryStatus, Order, OrderStatus, orderTransition, PaymentMethod, toSnapshot, type OrderEvents, type OrderSnapshot } from '../order';
import { AccountKind, EntryKind, type LedgerService } from '../wallet';
import { GatewayRefusedError, type GatewayRefund, type PaymentGateway } from './gateway';
import { RefundStatus, type ChargeOutcome } from './payment.entity';
import { errorText, silentLog, type PaymentLog } from './payment.log';

/** An order together with its delivery, as a refund left them. */
export interface OrderWithDelivery {
  order: Order;
  delivery: Delivery | null;
}

/** Task name of the job that sends a recorded refund to the gateway. */
export const SEND_REFUND_TASK = 'send_refund';

/** Tries of one refund (graphile-worker's backoff, up to about six hours apart: about three days in all). */
export const SEND_REFUND_MAX_ATTEMPTS = 25;

/** What the refund job sends: an order's refund, or the refund of a charge that paid nothing. */
export type RefundJob = { refundId: string } | { sessionId: string };

/** What a refund the gateway failed or cancelled is recorded with: its state, and Stripe's reason when it gives one. */
const failureOf = (status: string, reason: string | null | undefined): string => `refund ${status}${reason ? `: ${reason}` : ''}`;

/** The error logged when a refund fails at the gateway, by the job or by Stripe's event. */
const REFUND_FAILED = 'a refund failed at the payment gateway: an admin must act';

/** A charge that pays nothing and goes back to the payer (see {@link RefundService.refundCharge}). */
export interface UnappliedCharge {
  sessionId: string;
  orderId: string | null;
  paymentIntent: string | null;
  amount: number;
  currency: string;
}

/** One refund as the job reads it, whichever table holds it. */
interface RefundRow {
  status: RefundStatus | null;
  gatewayRef: string | null;
  paymentRef: string;
  amount: number;
  idempotencyKey: string;
  metadata: Record<string, string>;
  /** Writes the outcome on the refund's own row (only while it is PENDING). */
  settle(em: EntityManager, status: RefundStatus, gatewayRef: string | null, error: string | null): Promise<void>;
  /** Records a failure worth retrying, or the gateway's id of a refund still pending there. */
  note(em: EntityManager, gatewayRef: string | null, error: string | null): Promise<void>;
}

/** What a refund needs of the order module: giving back, once, the stock and coupon use the order took. */
export interface HeldOrders {
  giveBackHeld(tx: EntityManager, after: AfterCommit, orderId: string): Promise<unknown>;
}

/** The fields of a Stripe Charge a `charge.refunded` event settles refunds with. */
export interface RefundedChargeObject {
  id?: string;
  payment_intent?: string | { id: string } | null;
  amount_refunded?: number | null;
  refunds?: { data?: GatewayRefundObject[] } | null;
}

/** A refund as Stripe's refund events (and a charge's list of refunds) carry it. */
export interface GatewayRefundObject {
  id: string;
  /** `pending`, `requires_action`, `succeeded`, `failed` or `canceled`. */
  status?: string | null;
  failure_reason?: string | null;
  /** What we sent with it: the refund's id, or the session of a late or mismatched payment. */
  metadata?: Record<string, string> | null;
}

/**
 * Refunds. A refund is recorded in the transaction that refunds the order (the order REFUNDED, its
 * delivery CANCELLED, the ledger moved, a Refund row) and, for gateway payments, sent to the gateway
 * afterwards by a job: no row stays locked and no connection is held while the gateway is waited for,
 * and a refund the gateway carried out is never lost to a rolled-back transaction. The job retries with
 * backoff under one idempotency key per refund, so it never refunds twice; a refusal for good leaves the
 * refund FAILED for an admin. Stripe's refund events settle a refund by the state the gateway gives it.
 *
 * It depends on nothing of the delivery module's services, so the delivery service can be built with it.
 */
export class RefundService {
  constructor(
    private readonly deps: {
      config: Config;
      ledger: LedgerService;
      orderEvents: OrderEvents;
      gateway: PaymentGateway;
      /** Gives back what a refunded order still holds (the order module's OrderService). */
      heldOrders: HeldOrders;
      /** An admin's refund is recorded in the audit log. */
      audits: AuditService;
    },
  ) {}

  /**
   * Admin: refunds a PAID order whose delivery has not completed, as one unit of work (see
   * {@link RefundService.refundPaidOrder}), recorded in the audit log as done by `actor`. NOT_FOUND for
   * unknown ids; ORDER_NOT_REFUNDABLE otherwise.
   */
  async refundOrder(em: EntityManager, orderId: string, actor: string): Promise<OrderSnapshot> {
    if (!isUuid(orderId)) throw new NotFoundError('No such order');
    return unitOfWork(em, async (tx, after) => {
      const [row] = await tx.execute<{ id: string }[]>(`select id from "order" where id = ?`, [orderId]);
      if (!row) throw new NotFoundError('No such order');
      const { order, delivery } = await this.refundPaidOrder(tx, { id: orderId }, actor, after);
      await this.deps.audits.record(tx, {
        actor,
        action: 'refundOrder',
        targetType: AuditTargetType.ORDER,
        // The order's own id: the argument may spell it in upper case, and the log is searched by the id the API shows.
        targetId: row.id,
        details: { number: order.number, amount: order.total, method: order.paymentMethod },
      });
      return toSnapshot(order, delivery);
    });
  }

  /**
   * Refunds a PAID order inside the caller's transaction: the order becomes REFUNDED and its delivery
   * CANCELLED (unless already CANCELLED in this transaction) as one change (version + 1, published
   * after commit); the whole total leaves escrow, back to the payer's wallet (REFUND entries, the
   * refund SUCCEEDED) or to the gateway's clearing account (the refund PENDING, sent to the gateway by
   * a job that runs after commit); one Refund row per payment; what the order still holds (its unit of
   * stock, its coupon use) is given back, once; the refund mail is enqueued. The caller must not raise
   * the order's version for the same change itself. Nothing here calls the gateway.
   *
   * Throws ORDER_NOT_REFUNDABLE when the order is not PAID or its delivery is COMPLETED; the caller's
   * transaction then rolls back.
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
    const rows = await query<Record<string, unknown>>(tx, orderTransition({ orderId: order.id, to: OrderStatus.REFUNDED, actor }));
    if (rows.length === 0) throw new OrderNotRefundableError();
    const refunded = tx.map(Order, rows[0]);

    const delivery = await cancelDeliveryForRefund(tx, order.id);
    await tx.populate(refunded, ['plan']);
    if (delivery && delivery.status !== DeliveryStatus.CANCELLED) {
      throw new OrderNotRefundableError('The delivery of this order is complete; it can no longer be refunded');
    }

    const [payment] = await tx.execute<{ id: string; method: PaymentMethod; amount: string; payer_id: string | null }[]>(
      `select id, method, amount, payer_id from payment where order_id = ?`,
      [order.id],
    );
    if (!payment) throw new Error(`paid order ${order.id} has no payment`);
    const amount = Number(payment.amount);
    const throughGateway = payment.method === PaymentMethod.GATEWAY && amount > 0;
    const refundId = newId();
    // A wallet refund's transaction id is its ledger journal, known before it is posted.
    const journalId = payment.method === PaymentMethod.WALLET && amount > 0 ? newId() : null;
    await tx.execute(
      `insert into refund (id, payment_id, order_id, amount, status, settled_at, journal_id) values (?, ?, ?, ?, ?, ${throughGateway ? 'null' : 'now()'}, ?)`,
      [refundId, payment.id, order.id, amount, throughGateway ? RefundStatus.PENDING : RefundStatus.SUCCEEDED, journalId],
    );
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
        journalId ? { journalId } : {},
      );
    }
    // A refunded order gives back its unit of stock and its coupon use, once, as a cancel does.
    await this.deps.heldOrders.giveBackHeld(tx, after, order.id);
    await mailJob(tx, order.id, MailKind.REFUNDED);
    if (throughGateway) await this.enqueue(tx, { refundId });
    if (opts.publish !== false) this.deps.orderEvents.afterCommit(after, toSnapshot(refunded, delivery));
    return { order: refunded, delivery };
  }

  /**
   * Records, inside the caller's transaction, that a charge which pays nothing (a late payment, one of
   * another amount or currency) goes back to the payer, and has the job send it to the gateway after
   * commit (idempotency key per session, so however often the event comes, it is refunded once). In the
   * ledger the money passes through the clearing account in and out in one journal, so the books show
   * it and still balance. The charge's `gateway_charge` row is the caller's, claimed in this transaction.
   */
  async refundCharge(tx: EntityManager, c: UnappliedCharge, outcome: ChargeOutcome, actor: string): Promise<void> {
    if (c.amount > 0 && c.currency === this.deps.config.currency) {
      await this.deps.ledger.post(
        tx,
        [
          { account: AccountKind.GATEWAY_CLEARING, amount: -c.amount, kind: EntryKind.PAYMENT, orderId: c.orderId },
          { account: AccountKind.GATEWAY_CLEARING, amount: c.amount, kind: EntryKind.REFUND, orderId: c.orderId },
        ],
        actor,
      );
    }
    await tx.execute(`update gateway_charge set outcome = ?, refund_status = ? where session_id = ?`, [
      outcome,
      c.amount > 0 ? RefundStatus.PENDING : null,
      c.sessionId,
    ]);
    if (c.amount > 0) await this.enqueue(tx, { sessionId: c.sessionId });
  }

  /**
   * The refund job: sends one PENDING refund to the gateway, outside any transaction, and records the
   * answer: SUCCEEDED with the gateway's refund id; FAILED (logged as an error) when the gateway refuses
   * it for good; still PENDING when the gateway has it pending (the job then throws to ask again later).
   * A failure worth retrying is noted on the row and thrown, so graphile-worker retries with backoff
   * under the same idempotency key. A refund already settled (by an earlier try or by the
   * `charge.refunded` event) is left alone.
   */
  async send(em: EntityManager, job: RefundJob, log: PaymentLog = silentLog): Promise<RefundStatus | null> {
    const row = await this.load(em, job);
    if (!row || row.status !== RefundStatus.PENDING) return row?.status ?? null;
    let answer: GatewayRefund;
    try {
      answer = row.gatewayRef
        ? await this.deps.gateway.refundState(row.gatewayRef)
        : await this.deps.gateway.refund(row.paymentRef, row.amount, row.idempotencyKey, row.metadata);
    } catch (e) {
      if (e instanceof GatewayRefusedError) {
        await row.settle(em, RefundStatus.FAILED, null, errorText(e));
        log.error({ ...job, err: e.message }, 'the payment gateway refused a refund for good: an admin must act');
        return RefundStatus.FAILED;
      }
      await row.note(em, null, errorText(e));
      throw e;
    }
    if (answer.status === 'succeeded') {
      await row.settle(em, RefundStatus.SUCCEEDED, answer.id, null);
      return RefundStatus.SUCCEEDED;
    }
    if (answer.status === 'failed' || answer.status === 'canceled') {
      const reason = failureOf(answer.status, answer.failureReason);
      await row.settle(em, RefundStatus.FAILED, answer.id, reason);
      log.error({ ...job, gatewayRef: answer.id, reason }, REFUND_FAILED);
      return RefundStatus.FAILED;
    }
    await row.note(em, answer.id, `refund ${answer.status} at the gateway`);
    throw new Error(`refund ${answer.id} is ${answer.status} at the gateway; asking again later`);
  }

  /**
   * Stripe's `charge.refunded`, sent when a refund of the charge is created, pending or not (its
   * `amount_refunded` counts pending refunds too, so the amount settles nothing). Each refund it lists is
   * settled by its own state (see {@link reconcileRefund}). A charge that lists none (Stripe's recent API
   * versions leave the list out) has the refund jobs of the PaymentIntent's pending refunds run again at
   * once: they ask Stripe where each stands. Inside the event's transaction.
   */
  async reconcileChargeRefunded(tx: EntityManager, charge: RefundedChargeObject, log: PaymentLog = silentLog): Promise<void> {
    const listed = charge.refunds?.data ?? [];
    for (const r of listed) await this.reconcileRefund(tx, r, log);
    if (listed.length > 0) return;
    const pi = typeof charge.payment_intent === 'string' ? charge.payment_intent : (charge.payment_intent?.id ?? null);
    if (!pi) return;
    const pending = await tx.execute<{ id: string }[]>(`select r.id from refund r join payment p on p.id = r.payment_id where p.gateway_ref = ? and r.status = ?`, [pi, RefundStatus.PENDING]);
    for (const { id } of pending) await this.enqueue(tx, { refundId: id });
    const charges = await tx.execute<{ session_id: string }[]>(`select session_id from gateway_charge where payment_intent = ? and refund_status = ?`, [pi, RefundStatus.PENDING]);
    for (const { session_id: sessionId } of charges) await this.enqueue(tx, { sessionId });
  }

  /**
   * One refund's state at the gateway (`refund.updated`, `refund.failed`, `charge.refund.updated`, or a
   * refund a charge lists), matched by the metadata we sent: `succeeded` settles a PENDING refund;
   * `failed` or `canceled` ends it FAILED, one we had as SUCCEEDED too (Stripe fails a refund after it
   * succeeded when the customer's bank returns it), logged for an admin to act. Any other state leaves it
   * to the refund job. Inside the event's transaction.
   */
  async reconcileRefund(tx: EntityManager, r: GatewayRefundObject, log: PaymentLog = silentLog): Promise<void> {
    const refundId = r.metadata?.refundId;
    const sessionId = r.metadata?.sessionId;
    const failed = r.status === 'failed' || r.status === 'canceled';
    if (!(r.status === 'succeeded' || failed)) return;
    const status = failed ? RefundStatus.FAILED : RefundStatus.SUCCEEDED;
    const from = failed ? [RefundStatus.PENDING, RefundStatus.SUCCEEDED] : [RefundStatus.PENDING];
    const error = failed ? failureOf(r.status!, r.failure_reason) : null;
    let changed: unknown[] = [];
    if (refundId && isUuid(refundId)) {
      changed = await tx.execute(
        `update refund set status = ?, gateway_ref = coalesce(gateway_ref, ?), error = ?, settled_at = now() where id = ? and status in (?) returning id`,
        [status, r.id, error, refundId, from],
      );
    } else if (sessionId) {
      changed = await tx.execute(
        `update gateway_charge set refund_status = ?, refund_ref = coalesce(refund_ref, ?), refund_error = ? where session_id = ? and refund_status in (?) returning session_id`,
        [status, r.id, error, sessionId, from],
      );
    }
    if (failed && changed.length > 0) log.error({ refundId, sessionId, gatewayRef: r.id, reason: error }, REFUND_FAILED);
  }

  /** Asks for the refund job of `job`, keyed by what it refunds: asked again, it replaces a pending one and runs at once. */
  private async enqueue(tx: EntityManager, job: RefundJob): Promise<void> {
    const jobKey = 'refundId' in job ? `${SEND_REFUND_TASK}:${job.refundId}` : `${SEND_REFUND_TASK}:charge:${job.sessionId}`;
    await enqueue(tx, SEND_REFUND_TASK, job, { jobKey, maxAttempts: SEND_REFUND_MAX_ATTEMPTS });
  }

  /** The refund a job names, with how to record its outcome; null when there is none. */
  private async load(em: EntityManager, job: RefundJob): Promise<RefundRow | null> {
    if ('refundId' in job) {
      if (!isUuid(job.refundId)) return null;
      const [r] = await em.execute<{ status: RefundStatus; gateway_ref: string | null; amount: string; order_id: string; payment_id: string; payment_ref: string | null }[]>(
        `select r.status, r.gateway_ref, r.amount, r.order_id, p.id as payment_id, p.gateway_ref as payment_ref
           from refund r join payment p on p.id = r.payment_id where r.id = ?`,
        [job.refundId],
      );
      if (!r) return null;
      return {
        status: r.status,
        gatewayRef: r.gateway_ref,
        paymentRef: r.payment_ref ?? '',
        amount: Number(r.amount),
        idempotencyKey: `refund:payment:${r.payment_id}`,
        metadata: { orderId: r.order_id, refundId: job.refundId },
        settle: async (e, status, ref, error) => {
          await e.execute(
            `update refund set status = ?, gateway_ref = coalesce(?, gateway_ref), error = ?, settled_at = now() where id = ? and status = ?`,
            [status, ref, error, job.refundId, RefundStatus.PENDING],
          );
        },
        note: async (e, ref, error) => {
          await e.execute(`update refund set gateway_ref = coalesce(?, gateway_ref), error = ? where id = ? and status = ?`, [ref, error, job.refundId, RefundStatus.PENDING]);
        },
      };
    }
    const [c] = await em.execute<{ refund_status: RefundStatus | null; refund_ref: string | null; amount: string; order_id: string | null; payment_intent: string | null }[]>(
      `select refund_status, refund_ref, amount, order_id, payment_intent from gateway_charge where session_id = ?`,
      [job.sessionId],
    );
    if (!c) return null;
    return {
      status: c.refund_status,
      gatewayRef: c.refund_ref,
      paymentRef: c.payment_intent ?? job.sessionId,
      amount: Number(c.amount),
      idempotencyKey: `refund:charge:${job.sessionId}`,
      metadata: { sessionId: job.sessionId, ...(c.order_id ? { orderId: c.order_id } : {}) },
      settle: async (e, status, ref, error) => {
        await e.execute(`update gateway_charge set refund_status = ?, refund_ref = coalesce(?, refund_ref), refund_error = ? where session_id = ? and refund_status = ?`, [
          status,
          ref,
          error,
          job.sessionId,
          RefundStatus.PENDING,
        ]);
      },
      note: async (e, ref, error) => {
        await e.execute(`update gateway_charge set refund_ref = coalesce(?, refund_ref), refund_error = ? where session_id = ? and refund_status = ?`, [
          ref,
          error,
          job.sessionId,
          RefundStatus.PENDING,
        ]);
      },
    };
  }
}
