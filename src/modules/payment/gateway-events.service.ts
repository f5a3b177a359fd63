import type { EntityManager } from '@mikro-orm/postgresql';
import { enqueue } from '../../infra/jobs';
import { isUuid } from '../../shared/ids';
import { unitOfWork, type AfterCommit } from '../../shared/unit-of-work';
import { AuditTargetType, type AuditService } from '../audit';
import { Order, PaymentMethod } from '../order';
import type { PaymentConfirmation } from './payment-confirmation';
import { ChargeOutcome, CheckoutStatus, GatewayEventStatus } from './payment.entity';
import { errorText, silentLog, type PaymentLog } from './payment.log';
import { FAILED_LIST_LIMIT } from './payment.types';
import type { GatewayRefundObject, RefundedChargeObject, RefundService } from './refund.service';
import { TopUpStatus } from './top-up.entity';
import { GATEWAY_ACTOR, type TopUpService } from './top-up.service';

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

/** What became of a gateway event: `deferred` when it failed and was kept for the retry job. */
export type EventOutcome = 'processed' | 'duplicate' | 'ignored' | 'deferred';

/** One stored event whose processing keeps failing, as an admin sees it. */
export interface FailedGatewayEvent {
  id: string;
  type: string;
  error: string;
  attempts: number;
  receivedAt: Date;
  lastTriedAt: Date | null;
  nextAttemptAt: Date | null;
}

/** Task name of the job that retries a stored event. */
export const RETRY_GATEWAY_EVENT_TASK = 'retry_gateway_event';

/** Tries of one event in all, the webhook's included: about a day, within Stripe's own three days. */
export const GATEWAY_EVENT_MAX_ATTEMPTS = 25;

/** The wait before try `n + 1` after `n` failed: 5 s, doubling, at most an hour. */
export const gatewayEventBackoffSeconds = (attempts: number): number => Math.min(5 * 2 ** Math.max(attempts - 1, 0), 3600);

/** Who an event's changes are recorded as made by: the development gateway's own events, or Stripe. */
const actorOf = (event: GatewayEventInput): string => (String(event.id).startsWith('evt_dev_') ? 'system:dev-gateway' : 'system:stripe');

/**
 * Gateway events: the webhook's inbox. A verified event is processed as one unit of work that first
 * claims its id in `gateway_event`, so a redelivered event never pays or refunds twice. An event whose
 * processing fails is stored with its payload and error and retried by a job with backoff, so the
 * webhook answers 2xx once the event is safe here instead of failing until the gateway gives up; the
 * events still failing are listed for admins.
 */
export class GatewayEventService {
  constructor(
    private readonly deps: {
      confirmation: PaymentConfirmation;
      refunds: RefundService;
      /** Wallet top-ups: their sessions are settled here too. */
      topUps: TopUpService;
      /** Events that pay nothing are recorded in the audit log, so an admin can tell a customer why. */
      audits: AuditService;
    },
  ) {}

  /**
   * Takes one verified event: processes it ({@link GatewayEventService.process}); when that fails, stores
   * it with the error and schedules a retry, and answers `deferred`. Throws only when the event could
   * not even be stored (the database is away): the webhook then answers 5xx and the gateway delivers the
   * event again later.
   */
  async receive(em: EntityManager, event: GatewayEventInput, opts: { log?: PaymentLog } = {}): Promise<EventOutcome> {
    const log = opts.log ?? silentLog;
    try {
      return await this.process(em.fork(), event, opts);
    } catch (e) {
      log.error({ err: e, eventId: event.id, type: event.type }, 'gateway event failed: kept for a retry');
      await this.keepFailed(em.fork(), event, e);
      return 'deferred';
    }
  }

  /**
   * Handles one event as one unit of work on `em`. The event id is claimed first in `gateway_event`
   * (`on conflict do nothing`): a redelivered event, even one arriving while the first is being
   * processed, does nothing, and so does one already stored as failing (the retry job owns it).
   * `checkout.session.completed` (paid) and `checkout.session.async_payment_succeeded` settle the
   * session's charge, `checkout.session.expired` closes the session, `charge.refunded` and the refund
   * events settle our refunds by their state at the gateway; other types are ignored. Throws when the work fails (nothing is kept).
   */
  async process(em: EntityManager, event: GatewayEventInput, opts: { log?: PaymentLog } = {}): Promise<EventOutcome> {
    const log = opts.log ?? silentLog;
    return unitOfWork(
      em,
      async (tx, after) => {
        const claimed = await tx.execute<{ id: string }[]>(
          `insert into gateway_event (id, type, status, last_tried_at) values (?, ?, ?, now()) on conflict (id) do nothing returning id`,
          [String(event.id).slice(0, 255), String(event.type).slice(0, 100), GatewayEventStatus.PROCESSED],
        );
        if (claimed.length === 0) return 'duplicate';
        return this.apply(tx, event, actorOf(event), after, log);
      },
      (e) => log.error({ err: e }, 'after-commit task failed'),
    );
  }

  /**
   * The retry job: processes a stored failing event again, as one unit of work that marks it PROCESSED.
   * Another failure is recorded (attempts, error, last and next try) and the next try scheduled with
   * backoff, until {@link GATEWAY_EVENT_MAX_ATTEMPTS}; the event then stays FAILED for an admin.
   * Returns what became of it.
   */
  async retry(em: EntityManager, eventId: string, log: PaymentLog = silentLog): Promise<EventOutcome | 'failed'> {
    const [row] = await em.execute<{ payload: GatewayEventInput | string | null; attempts: number }[]>(
      `select payload, attempts from gateway_event where id = ? and status = ?`,
      [eventId, GatewayEventStatus.FAILED],
    );
    if (!row?.payload) return 'duplicate';
    const event = (typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload) as GatewayEventInput;
    try {
      return await unitOfWork(
        em.fork(),
        async (tx, after) => {
          // Locks the row until commit: a redelivery of the same event meanwhile is a duplicate.
          const claimed = await tx.execute(
            `update gateway_event set status = ?, error = null, next_attempt_at = null, attempts = attempts + 1, last_tried_at = now()
              where id = ? and status = ? returning id`,
            [GatewayEventStatus.PROCESSED, eventId, GatewayEventStatus.FAILED],
          );
          if (claimed.length === 0) return 'duplicate';
          return this.apply(tx, event, actorOf(event), after, log);
        },
        (e) => log.error({ err: e }, 'after-commit task failed'),
      );
    } catch (e) {
      // One retry job per event (its job key), so the attempts read above are still the latest.
      const attempts = Number(row.attempts) + 1;
      const delay = attempts < GATEWAY_EVENT_MAX_ATTEMPTS ? gatewayEventBackoffSeconds(attempts) : null;
      await em.fork().transactional(async (tx) => {
        const [next] = await tx.execute<{ next_attempt_at: Date | null }[]>(
          `update gateway_event set attempts = ?, error = ?, last_tried_at = now(),
                  next_attempt_at = case when ?::int is null then null else now() + make_interval(secs => ?::int) end
            where id = ? and status = ? returning next_attempt_at`,
          [attempts, errorText(e), delay, delay, eventId, GatewayEventStatus.FAILED],
        );
        if (next?.next_attempt_at) await this.scheduleRetry(tx, eventId, next.next_attempt_at);
      });
      if (delay === null) log.error({ eventId, attempts, err: errorText(e) }, 'gateway event still fails after its last try: an admin must act');
      else log.warn({ eventId, attempts, err: errorText(e) }, 'gateway event failed again: retrying later');
      return 'failed';
    }
  }

  /** Admin: the stored events whose processing is still failing, oldest first. */
  async failedEvents(em: EntityManager): Promise<FailedGatewayEvent[]> {
    const rows = await em.execute<
      { id: string; type: string; error: string | null; attempts: number; received_at: Date; last_tried_at: Date | null; next_attempt_at: Date | null }[]
    >(
      `select id, type, error, attempts, received_at, last_tried_at, next_attempt_at from gateway_event
        where status = ? order by received_at, id limit ?`,
      [GatewayEventStatus.FAILED, FAILED_LIST_LIMIT],
    );
    return rows.map((r) => ({
      id: r.id,
      type: r.type,
      error: r.error ?? '',
      attempts: Number(r.attempts),
      receivedAt: new Date(r.received_at),
      lastTriedAt: r.last_tried_at ? new Date(r.last_tried_at) : null,
      nextAttemptAt: r.next_attempt_at ? new Date(r.next_attempt_at) : null,
    }));
  }

  /**
   * Stores an event whose first processing failed, with the error and its first retry, in a transaction
   * of its own. Nothing when the id is already stored (a redelivery that raced it, processed or failed).
   */
  private async keepFailed(em: EntityManager, event: GatewayEventInput, e: unknown): Promise<void> {
    await em.transactional(async (tx) => {
      const rows = await tx.execute<{ next_attempt_at: Date }[]>(
        `insert into gateway_event (id, type, status, payload, error, attempts, last_tried_at, next_attempt_at)
         values (?, ?, ?, ?::jsonb, ?, 1, now(), now() + make_interval(secs => ?))
         on conflict (id) do nothing returning next_attempt_at`,
        [
          String(event.id).slice(0, 255),
          String(event.type).slice(0, 100),
          GatewayEventStatus.FAILED,
          JSON.stringify(event),
          errorText(e),
          gatewayEventBackoffSeconds(1),
        ],
      );
      if (rows.length) await this.scheduleRetry(tx, String(event.id).slice(0, 255), rows[0].next_attempt_at);
    });
  }

  private async scheduleRetry(tx: EntityManager, eventId: string, at: Date): Promise<void> {
    // A job with this key replaces a pending one; the running one (this retry) keeps going and ends.
    await enqueue(tx, RETRY_GATEWAY_EVENT_TASK, { eventId }, { runAt: new Date(at), jobKey: `${RETRY_GATEWAY_EVENT_TASK}:${eventId}`, maxAttempts: 5 });
  }

  /** What an event does, inside the transaction that claimed it. */
  private async apply(tx: EntityManager, event: GatewayEventInput, actor: string, after: AfterCommit, log: PaymentLog): Promise<EventOutcome> {
    const object = event.data?.object;
    switch (event.type) {
      case 'checkout.session.completed': {
        const session = object as CheckoutSessionObject;
        // Delayed payment methods complete the session unpaid and succeed later in their own event.
        if (session.payment_status !== 'paid') return 'ignored';
        await this.settleCharge(tx, session, actor, after, log);
        return 'processed';
      }
      case 'checkout.session.async_payment_succeeded':
        await this.settleCharge(tx, object as CheckoutSessionObject, actor, after, log);
        return 'processed';
      case 'checkout.session.expired': {
        const session = object as CheckoutSessionObject;
        const closed = await tx.execute<{ order_id: string; amount: string }[]>(
          `update checkout_session set status = ? where id = ? and status = ? returning order_id, amount`,
          [CheckoutStatus.EXPIRED, session.id, CheckoutStatus.OPEN],
        );
        if (closed.length) await this.auditOrder(tx, 'checkoutExpired', closed[0].order_id, { sessionId: session.id, amount: Number(closed[0].amount), eventId: event.id });
        else await this.deps.topUps.close(tx, session.id, TopUpStatus.EXPIRED, 'checkoutExpired', { eventId: event.id });
        return 'processed';
      }
      case 'checkout.session.async_payment_failed': {
        // A delayed payment method (a bank debit) was declined after the customer completed the checkout.
        const session = object as CheckoutSessionObject;
        const details = { sessionId: session.id, amount: Number(session.amount_total ?? 0), eventId: event.id };
        const orderId = await this.orderOfSession(tx, session.id);
        if (orderId) {
          await this.closeSession(tx, session.id);
          await this.auditOrder(tx, 'asyncPaymentFailed', orderId, details);
        } else {
          await this.deps.topUps.close(tx, session.id, TopUpStatus.FAILED, 'asyncPaymentFailed', { eventId: event.id });
        }
        return 'processed';
      }
      case 'charge.refunded':
        await this.deps.refunds.reconcileChargeRefunded(tx, object as RefundedChargeObject, log);
        return 'processed';
      case 'refund.updated':
      case 'refund.failed':
      case 'charge.refund.updated':
        await this.deps.refunds.reconcileRefund(tx, object as GatewayRefundObject, log);
        return 'processed';
      default:
        return 'ignored';
    }
  }

  /**
   * Applies the money of one paid Checkout Session of one of our orders, once (`gateway_charge` is
   * keyed by session id): to its order when the amount and currency are the order's total and the order
   * is still payable (PENDING, before its `expiresAt`); otherwise it is recorded (MISMATCH, or REFUNDED
   * for an order cancelled, expired or already paid another way) and refunded through the gateway by a
   * job after commit, and the order keeps its state. No paid money is dropped.
   *
   * The order is the one `payWithGateway` stored the session for, whatever the event's metadata says: a
   * session's metadata can be edited at Stripe, and a session some other system opened on the same
   * account may name one of our orders. Such a session is not a payment of ours: its money is left to
   * that system, and the order's audit log records it for an admin.
   */
  private async settleCharge(tx: EntityManager, s: CheckoutSessionObject, actor: string, after: AfterCommit, log: PaymentLog): Promise<void> {
    const paymentIntent = typeof s.payment_intent === 'string' ? s.payment_intent : (s.payment_intent?.id ?? null);
    const amount = Number(s.amount_total ?? 0);
    const currency = String(s.currency ?? '').toUpperCase();
    if (s.metadata?.topUpId) {
      await this.deps.topUps.settle(tx, { sessionId: s.id, topUpId: s.metadata.topUpId, paymentIntent, amount, currency }, actor, log);
      return;
    }
    const ref = s.metadata?.orderId ?? s.client_reference_id ?? null;
    const own = await this.orderOfSession(tx, s.id);
    if (!own) {
      // Not a checkout of ours (the Stripe account may serve other systems): leave that money alone.
      const named = isUuid(ref) ? await tx.findOne(Order, { id: ref }, { fields: ['id'] }) : null;
      log.warn({ sessionId: s.id, ref }, named ? 'gateway payment of a session this API did not open names one of our orders: ignored' : 'gateway payment names no order of ours: ignored');
      if (named) await this.auditOrder(tx, 'foreignCheckoutIgnored', named.id, { sessionId: s.id, amount, currency });
      return;
    }
    if (ref?.toLowerCase() !== own) log.warn({ sessionId: s.id, ref, orderId: own }, "gateway payment's metadata names another order than its session's: applied to the session's");
    const order = await tx.findOneOrFail(Order, { id: own });
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
      await this.closeSession(tx, s.id);
      await this.deps.refunds.refundCharge(tx, charge, ChargeOutcome.MISMATCH, actor);
      await this.auditOrder(tx, 'paymentMismatch', order.id, { sessionId: s.id, paid: { amount, currency }, expected: { amount: order.total, currency: order.currency } });
      return;
    }
    const paid = await this.deps.confirmation.confirm(
      tx,
      order.id,
      { method: PaymentMethod.GATEWAY, gatewayRef: paymentIntent ?? s.id, sessionId: s.id, actor },
      after,
    );
    if (!paid) {
      const [now] = await tx.execute<{ status: string; expired: boolean }[]>(
        `select status, coalesce(expires_at <= now(), false) as expired from "order" where id = ?`,
        [order.id],
      );
      log.warn({ ...charge, status: now?.status, expired: now?.expired }, 'gateway payment for an order that can no longer be paid: refunding it');
      await this.closeSession(tx, s.id);
      await this.deps.refunds.refundCharge(tx, charge, ChargeOutcome.REFUNDED, actor);
      await this.auditOrder(tx, 'latePaymentRefund', order.id, { sessionId: s.id, amount, currency, orderStatus: now?.status, expired: now?.expired });
    }
  }

  /** The order `payWithGateway` opened Checkout Session `sessionId` for; null for a session it did not open. */
  private async orderOfSession(tx: EntityManager, sessionId: string): Promise<string | null> {
    const [row] = await tx.execute<{ order_id: string }[]>(`select order_id from checkout_session where id = ?`, [sessionId]);
    return row?.order_id ?? null;
  }

  /** Records, in the event's transaction, what a gateway event did to an order without paying it. */
  private async auditOrder(tx: EntityManager, action: string, orderId: string, details: Record<string, unknown>): Promise<void> {
    await this.deps.audits.record(tx, { actor: GATEWAY_ACTOR, action, targetType: AuditTargetType.ORDER, targetId: orderId, details });
  }

  /** The session was paid at the gateway, so it is no longer open there, whatever became of the money. */
  private async closeSession(tx: EntityManager, sessionId: string): Promise<void> {
    await tx.execute(`update checkout_session set status = ? where id = ? and status = ?`, [CheckoutStatus.COMPLETED, sessionId, CheckoutStatus.OPEN]);
  }
}
