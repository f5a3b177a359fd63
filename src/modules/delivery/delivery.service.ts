import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../../config';
import { enqueue } from '../../infra/jobs';
import { Role, type Principal } from '../../shared/caller';
import { BadUserInputError, ForbiddenError, InvalidStatusTransitionError, NotFoundError } from '../../shared/errors';
import { isUuid } from '../../shared/ids';
import { splitRelease } from '../../shared/money';
import { query, sql } from '../../shared/sql';
import { unitOfWork, type AfterCommit } from '../../shared/unit-of-work';
import { AuditTargetType, type AuditService } from '../audit';
import { DeliveryStatus, Order, OrderStatus, orderTouched, orderTransition, readSnapshot, toSnapshot, type OrderEvents, type OrderSnapshot } from '../order';
import { AccountKind, EntryKind, type LedgerLine, type LedgerService } from '../wallet';
import { deliveryTransition } from './delivery-transitions';
import { DeliveryActor, DeliveryMode, deliveryMoves } from './delivery.fsm';
import { MY_DELIVERIES_DEFAULT_PAGE, MY_DELIVERIES_MAX_PAGE } from './delivery.pages';
import { MailKind, mailJob } from './order-mail';
import type { Provisioner } from './provisioner';

/** Task name of the automatic delivery job. */
export const DELIVER_ORDER_TASK = 'deliver_order';

/**
 * The automatic delivery job's tries: `DELIVERY_MAX_ATTEMPTS` attempts, and one more that records the
 * delivery FAILED when the last attempt could not (its process stopped during it). graphile-worker
 * counts an attempt when it takes the job, so without it a job whose last attempt died never ran again
 * and left the order PAID with its delivery IN_PROGRESS for good.
 */
export const deliveryJobAttempts = (deliveryMaxAttempts: number): number => deliveryMaxAttempts + 1;

/** Who the automatic delivery's changes are made by: named in the order's history, the ledger and the audit log alike. */
const AUTOMATIC_ACTOR = 'system:delivery';

/** The moves the automatic delivery's worker may make. */
const WORKER_MOVES = deliveryMoves(DeliveryMode.AUTOMATIC, DeliveryActor.WORKER);

/** Which attempt of the automatic delivery job is running (graphile-worker counts from 1). */
export interface Attempt {
  number: number;
  max: number;
}

/**
 * Refunds a paid order inside the caller's transaction (the payments module's RefundService, which does
 * not depend on this service). `publish: false`: the delivery change publishes the result itself.
 */
export interface RefundCore {
  refundPaidOrder(tx: EntityManager, order: { id: string }, actorId: string, after: AfterCommit, opts: { publish: false }): Promise<unknown>;
}

/** The locked order and its delivery, as one change reads them. */
interface Locked {
  id: string;
  status: OrderStatus;
  customerId: string;
  planId: string;
  total: number;
  tax: number;
  durationDays: number | null;
  deliveryStatus: DeliveryStatus | null;
  providerId: string | null;
  planProviderId: string | null;
  /** The rates recorded on the order when it was made; null for orders made before they were recorded. */
  platformFeeBps: number | null;
  profitTaxBps: number | null;
}

/**
 * Deliveries of paid orders: their lifecycle (every change checked against the transition table,
 * made with guarded updates, raising the order's version by one), automatic delivery by a job,
 * release of the escrow on completion and the order mails.
 */
export class DeliveryService {
  constructor(
    private readonly deps: {
      config: Config;
      ledger: LedgerService;
      orderEvents: OrderEvents;
      provisioner: Provisioner | null;
      /** An admin's cancellation refunds the order. */
      refunds: RefundCore;
      /** Status changes by people and failed automatic deliveries are recorded in the audit log. */
      audits: AuditService;
    },
  ) {}

  /**
   * `setDeliveryStatus`: the plan's provider moves its delivery along; an admin may do the same,
   * retry a FAILED automatic delivery (→ NEW) or cancel it (refunding the order, same transaction).
   */
  async setStatus(em: EntityManager, caller: Principal, orderId: string, to: DeliveryStatus): Promise<OrderSnapshot> {
    if (!isUuid(orderId)) throw new NotFoundError('No such order');
    return unitOfWork(em, async (tx, after) => {
      const o = await this.lock(tx, orderId);
      if (!o) throw new NotFoundError('No such order');
      const provider = o.providerId ?? o.planProviderId;
      let actor: DeliveryActor;
      if (caller.role === Role.ADMIN) actor = DeliveryActor.ADMIN;
      else if (provider !== null && caller.sub === provider) actor = DeliveryActor.PROVIDER;
      else throw new ForbiddenError("Only the plan's provider or an admin may change this delivery");
      if (!o.deliveryStatus) throw new InvalidStatusTransitionError('This order has no delivery yet: it is not paid');
      const mode = o.providerId ? DeliveryMode.MANUAL : DeliveryMode.AUTOMATIC;
      if (!deliveryMoves(mode, actor).can(o.deliveryStatus, to)) {
        throw new InvalidStatusTransitionError(`A delivery cannot go from ${o.deliveryStatus} to ${to} this way`);
      }
      const snapshot = await this.apply(tx, after, o, to, caller.sub, 0);
      await this.deps.audits.record(tx, {
        actor: caller.sub,
        action: 'setDeliveryStatus',
        targetType: AuditTargetType.ORDER,
        targetId: o.id,
        details: { from: o.deliveryStatus, to, as: actor },
      });
      return snapshot;
    });
  }

  /**
   * The automatic delivery job. One attempt: a committed IN_PROGRESS change (attempts + 1), the
   * provisioning call when one is configured, then completion in one transaction guarded by the
   * delivery's status, so a re-run after a crash changes nothing twice. A failing attempt throws, and
   * graphile-worker retries it with backoff; the last one ends the delivery FAILED instead. A run past
   * the last attempt (see {@link deliveryJobAttempts}) finds the delivery IN_PROGRESS when that attempt
   * died, and ends it FAILED; an admin may then retry it.
   */
  async runAutomatic(em: EntityManager, orderId: string, attempt: Attempt): Promise<'completed' | 'failed' | 'skipped' | 'provisioned-for-ended-order'> {
    const tries = this.deps.config.deliveryMaxAttempts;
    if (attempt.number > tries && (await this.endFailed(em, orderId, tries, 'the last attempt ended without an outcome (its process stopped)'))) return 'failed';
    const started = await unitOfWork(em.fork(), async (tx, after) => {
      const o = await this.lock(tx, orderId);
      if (!o || !o.deliveryStatus || o.providerId || o.status !== OrderStatus.PAID) return null;
      if (!WORKER_MOVES.can(o.deliveryStatus, DeliveryStatus.IN_PROGRESS)) return null;
      await this.apply(tx, after, o, DeliveryStatus.IN_PROGRESS, AUTOMATIC_ACTOR, 1);
      return o;
    });
    if (!started) return 'skipped';
    try {
      await this.deps.provisioner?.provision({ orderId, customerId: started.customerId, planId: started.planId, durationDays: started.durationDays });
      const done = await unitOfWork(em.fork(), async (tx, after) => {
        const o = await this.lock(tx, orderId);
        if (!o || o.deliveryStatus !== DeliveryStatus.IN_PROGRESS || o.status !== OrderStatus.PAID) return false;
        await this.apply(tx, after, o, DeliveryStatus.COMPLETED, AUTOMATIC_ACTOR, 0);
        return true;
      });
      if (done) return 'completed';
      // Refunded or cancelled while the provisioning system was setting it up: that system has done its
      // part for an order whose money went back. Nothing here can undo it there; an admin is told.
      if (this.deps.provisioner) {
        await unitOfWork(em.fork(), (tx) =>
          this.deps.audits.record(tx, { actor: AUTOMATIC_ACTOR, action: 'provisionedAfterOrderEnded', targetType: AuditTargetType.ORDER, targetId: orderId, details: { attempts: attempt.number } }),
        );
        return 'provisioned-for-ended-order';
      }
      return 'skipped';
    } catch (e) {
      if (attempt.number < tries) throw e;
      await this.endFailed(em, orderId, attempt.number, e instanceof Error ? e.message : String(e));
      return 'failed';
    }
  }

  /** Ends an automatic delivery IN_PROGRESS as FAILED after `attempts` tries, in the audit log with `error`; false when it was not IN_PROGRESS. */
  private async endFailed(em: EntityManager, orderId: string, attempts: number, error: string): Promise<boolean> {
    return unitOfWork(em.fork(), async (tx, after) => {
      const o = await this.lock(tx, orderId);
      if (!o?.deliveryStatus || o.providerId || !WORKER_MOVES.can(o.deliveryStatus, DeliveryStatus.FAILED)) return false;
      await this.apply(tx, after, o, DeliveryStatus.FAILED, AUTOMATIC_ACTOR, 0);
      await this.deps.audits.record(tx, {
        actor: AUTOMATIC_ACTOR,
        action: 'deliveryFailed',
        targetType: AuditTargetType.ORDER,
        targetId: o.id,
        details: { attempts, error: error.slice(0, 500) },
      });
      return true;
    });
  }

  /** The current snapshot of an order, read from the database. */
  async snapshot(em: EntityManager, orderId: string): Promise<OrderSnapshot | null> {
    return isUuid(orderId) ? readSnapshot(em, { id: orderId }) : null;
  }

  /**
   * Orders whose delivery the provider carries out, oldest payment first, optionally of one status:
   * the first `first` of them, 1 to 100 (default 50; BAD_USER_INPUT outside, so a client asking for
   * more learns the limit instead of silently getting fewer).
   */
  async forProvider(em: EntityManager, providerId: string, status: DeliveryStatus | null, first: number | null = null): Promise<OrderSnapshot[]> {
    const limit = first ?? MY_DELIVERIES_DEFAULT_PAGE;
    if (!Number.isInteger(limit) || limit < 1 || limit > MY_DELIVERIES_MAX_PAGE) throw BadUserInputError.field('first', `must be 1 to ${MY_DELIVERIES_MAX_PAGE}`);
    const orders = await em.find(
      Order,
      { delivery: { provider: providerId, ...(status ? { status } : {}) } },
      { populate: ['delivery', 'plan'], orderBy: { paidAt: 'asc', id: 'asc' }, limit },
    );
    return orders.map((o) => toSnapshot(o, o.delivery));
  }

  private async enqueueAutomatic(tx: EntityManager, orderId: string): Promise<void> {
    await enqueue(tx, DELIVER_ORDER_TASK, { orderId }, { jobKey: `deliver:${orderId}`, maxAttempts: deliveryJobAttempts(this.deps.config.deliveryMaxAttempts) });
  }

  /** Locks the order row (every change of an order or its delivery does, first) and reads its delivery. */
  private async lock(tx: EntityManager, orderId: string): Promise<Locked | null> {
    const rows = await tx.execute<Record<string, unknown>[]>(
      `select o.id, o.status, o.customer_id, o.plan_id, o.total, o.tax, o.platform_fee_bps, o.profit_tax_bps,
              p.duration_days, p.provider_id as plan_provider_id,
              d.status as delivery_status, d.provider_id
         from "order" o join plan p on p.id = o.plan_id left join delivery d on d.order_id = o.id
        where o.id = ? for update of o`,
      [orderId],
    );
    const r = rows[0];
    if (!r) return null;
    return {
      id: String(r.id),
      status: r.status as OrderStatus,
      customerId: String(r.customer_id),
      planId: String(r.plan_id),
      total: Number(r.total),
      tax: Number(r.tax),
      durationDays: r.duration_days == null ? null : Number(r.duration_days),
      deliveryStatus: (r.delivery_status as DeliveryStatus | null) ?? null,
      providerId: (r.provider_id as string | null) ?? null,
      planProviderId: (r.plan_provider_id as string | null) ?? null,
      platformFeeBps: r.platform_fee_bps == null ? null : Number(r.platform_fee_bps),
      profitTaxBps: r.profit_tax_bps == null ? null : Number(r.profit_tax_bps),
    };
  }

  /**
   * Makes one allowed change (checked by the caller against the table) with guarded updates, raises
   * the order's version by exactly one, and publishes the result after commit.
   */
  private async apply(tx: EntityManager, after: AfterCommit, o: Locked, to: DeliveryStatus, actorId: string, attempts: 0 | 1): Promise<OrderSnapshot> {
    const mode = o.providerId ? DeliveryMode.MANUAL : DeliveryMode.AUTOMATIC;
    const updated = await query(tx, deliveryTransition({ orderId: o.id, to, mode, attempts }));
    if (updated.length !== 1) throw new InvalidStatusTransitionError();

    if (to === DeliveryStatus.CANCELLED) {
      // The refund core moves the order to REFUNDED and raises its version: that is this change's one step.
      await this.deps.refunds.refundPaidOrder(tx, { id: o.id }, actorId, after, { publish: false });
    } else if (to === DeliveryStatus.COMPLETED) {
      const done = await query(tx, orderTransition({ orderId: o.id, to: OrderStatus.DELIVERED, actor: actorId, set: sql`delivered_at = now()` }));
      if (done.length !== 1) throw new InvalidStatusTransitionError('The order is no longer paid');
      if (!o.providerId) await this.grantServicePeriod(tx, o);
      await this.release(tx, o, actorId);
      await mailJob(tx, o.id, MailKind.DELIVERED);
    } else {
      await query(tx, orderTouched(o.id, actorId));
      if (to === DeliveryStatus.NEW) await this.enqueueAutomatic(tx, o.id);
    }

    const snap = await this.snapshot(tx, o.id);
    if (!snap) throw new Error(`order ${o.id} vanished`);
    this.deps.orderEvents.afterCommit(after, snap);
    return snap;
  }

  /**
   * Starts the customer's service period for the plan, or extends it from the later of now and its
   * current end; a one-time plan (no duration) has no end.
   */
  private async grantServicePeriod(tx: EntityManager, o: Locked): Promise<void> {
    await tx.execute(
      `insert into service_period (customer_id, plan_id, starts_at, ends_at, updated_at)
       values (?, ?, now(), now() + make_interval(days => ?::int), now())
       on conflict (customer_id, plan_id) do update set
         starts_at = case when service_period.ends_at is not null and service_period.ends_at <= now() then now() else service_period.starts_at end,
         ends_at = case when ?::int is null then null
                        else greatest(now(), coalesce(service_period.ends_at, now())) + make_interval(days => ?::int) end,
         updated_at = now()`,
      [o.customerId, o.planId, o.durationDays, o.durationDays, o.durationDays],
    );
  }

  /**
   * Releases the order's escrow (CONTRACT.md, Money) with the rates recorded on the order when it was
   * made (those configured now only for orders made before rates were recorded): tax to TAX, the
   * platform's fee less its tax to PROFIT, the rest to the provider's wallet (PAYOUT), or to PROFIT for
   * a plan without a provider. What a full provider wallet cannot take stays in PAYABLE for the
   * provider (the ledger's rule for payouts), so completing a delivery never fails on it.
   */
  private async release(tx: EntityManager, o: Locked, actorId: string): Promise<void> {
    if (o.total === 0) return;
    const held = await this.deps.ledger.escrowOf(tx, o.id);
    if (held !== o.total) throw new Error(`escrow of order ${o.id} holds ${held}, expected ${o.total}`);
    const { config } = this.deps;
    const split = splitRelease(o.total, o.tax, o.platformFeeBps ?? config.platformFeeBps, o.profitTaxBps ?? config.profitTaxBps);
    const lines: LedgerLine[] = [
      { account: AccountKind.ESCROW, amount: -o.total, kind: EntryKind.RELEASE, orderId: o.id },
      { account: AccountKind.TAX, amount: split.tax, kind: EntryKind.RELEASE, orderId: o.id },
    ];
    if (o.providerId) {
      lines.push({ account: AccountKind.PROFIT, amount: split.profit, kind: EntryKind.RELEASE, orderId: o.id });
      lines.push({ account: AccountKind.WALLET, amount: split.provider, kind: EntryKind.PAYOUT, orderId: o.id, customerId: o.providerId, whenFull: 'hold' });
    } else {
      lines.push({ account: AccountKind.PROFIT, amount: split.profit + split.provider, kind: EntryKind.RELEASE, orderId: o.id });
    }
    await this.deps.ledger.post(tx, lines, actorId);
  }
}
