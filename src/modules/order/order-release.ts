import type { EntityManager } from '@mikro-orm/postgresql';
import { Role } from '../../shared/caller';
import { NotFoundError, OrderNotCancellableError } from '../../shared/errors';
import { isUuid } from '../../shared/ids';
import { query, sql, type Sql } from '../../shared/sql';
import { AfterCommit, unitOfWork } from '../../shared/unit-of-work';
import { AuditTargetType, type AuditService } from '../audit';
import { giveBackCouponUses } from '../coupon';
import { giveBackUnpaidSlots } from '../customer';
import { giveBackStockUnits, type PlanService } from '../plan';
import { cancelTransition, releaseHolds, type ReleasedHolds } from './order-transitions';
import { ownOrRefuse, type OrderActor } from './order.actor';
import { CancelReason } from './order.entity';
import type { OrderEvents } from './order.events';
import { snapshotFromRows, type DeliveryRow, type OrderRow } from './order.row';
import type { OrderSnapshot } from './order.snapshot';
import { Steps } from './statement-steps';

/** Name of the job that cancels an unpaid order when its payment time is up. */
export const ORDER_TIMEOUT_TASK = 'order_timeout';
/** Tries of a payment timeout job (the outbox's default, as every job asked for without a number). */
const ORDER_TIMEOUT_MAX_ATTEMPTS = 25;

/**
 * A statement step asking for the payment timeout of each order `orders` (a relation with `id` and
 * `expires_at`) yields where `condition` holds, at its `expires_at`: an outbox row, keyed by the order,
 * so asking again replaces the pending job. Returns the rows' ids.
 */
export function orderTimeoutJobs(orders: Sql, condition: Sql): Sql {
  return sql`insert into job_outbox (task, payload, job_key, run_at, max_attempts)
             select ${ORDER_TIMEOUT_TASK}, jsonb_build_object('orderId', id), ${`${ORDER_TIMEOUT_TASK}:`}::text || id::text, expires_at, ${ORDER_TIMEOUT_MAX_ATTEMPTS}::int
               from ${orders} where ${condition}
             returning id`;
}

/** An order row as a statement that changed it returns it, with what the change took away. */
type ChangedRow = OrderRow & ReleasedHolds & { coupon_id: string | null };

/** What the statement that ends an order (cancel) or takes back its holds answers. */
interface GivenBackRow {
  order: ChangedRow;
  delivery: DeliveryRow | null;
  plan_provider_id: string | null;
  /** Whether the unit of stock given back was of a plan with a stock (its listing changed). */
  stock_listed: boolean | null;
  /** The role stored for the order's customer (see {@link OrderActor.ensure}). */
  customer_role: string | null;
}

/** An order a statement ended: as committed, and its customer's stored role. */
interface Ended {
  snapshot: OrderSnapshot;
  customerRole: string | null;
}

/**
 * Expires, after commit, the open Checkout Sessions of an order leaving PENDING inside `tx` (the payment
 * module's GatewayCheckoutService; passed in, so this module does not depend on that one).
 */
export interface OpenCheckouts {
  /**
   * A step of the statement that takes orders out of PENDING: asks for the expiry of the open sessions
   * of the orders `orderIds` (a subquery of order ids) names, so a customer's cancel is one statement,
   * without BEGIN and COMMIT. It sees a session committed while the change waited for the order's lock.
   */
  expireOpenStep(orderIds: Sql): Sql;
}

/** What ending an order needs from the rest of the app. */
export interface OrderReleaseDeps {
  plans: PlanService;
  events: OrderEvents;
  /** An admin's cancel and the payment timeout are recorded in the audit log. */
  audits: AuditService;
  /** Expires the open Checkout Sessions of an order that stops waiting for payment. */
  checkouts: OpenCheckouts;
}

/**
 * Ending orders and giving back what they held: cancellation (customer, admin, payment timeout) and the
 * give-back for a path that ends an order otherwise (a refund). Each is one statement that changes the
 * order and gives back its holds (see {@link giveBackWith}).
 */
export class OrderRelease {
  constructor(private readonly deps: OrderReleaseDeps) {}

  /**
   * Cancels a PENDING order for its customer (reason CUSTOMER) or an admin (ADMIN, or CUSTOMER for the
   * admin's own order), giving back what it held in the same statement. Another customer's order
   * answers FORBIDDEN, an order that does not exist NOT_FOUND. A guarded status update decides races
   * with payment and the timeout: exactly one of them changes the order; a cancel that loses answers
   * ORDER_NOT_CANCELLABLE.
   */
  async cancel(em: EntityManager, caller: OrderActor, orderId: string): Promise<OrderSnapshot> {
    if (!isUuid(orderId)) {
      await caller.ensure?.();
      throw new NotFoundError('No such order');
    }
    const admin = caller.role === Role.ADMIN;
    const cancel = async (tx: EntityManager, after: AfterCommit) => {
      // The guarded update checks ownership too; only a refusal reads the owner, to tell NOT_FOUND and FORBIDDEN apart.
      const ended = admin
        ? await this.cancelPending(tx, after, orderId, caller.customerId, { ownReasonFor: caller.customerId })
        : await this.cancelPending(tx, after, orderId, caller.customerId, CancelReason.CUSTOMER, caller.customerId);
      // A caller whose row was not made sure of: the order proves it exists, unless none was theirs.
      if (caller.ensure && (!ended || ended.customerRole !== caller.role)) await caller.ensure();
      const snapshot = ended?.snapshot;
      if (!snapshot) {
        const [row] = await query<{ customer_id: string }>(tx, sql`select customer_id from "order" where id = ${orderId}::uuid`);
        ownOrRefuse(row, (r) => r.customer_id, caller.customerId, admin);
        throw new OrderNotCancellableError();
      }
      // Recorded under the order's own id: the argument may spell it in upper case, and the log is searched by the id the API shows.
      if (admin) {
        await this.deps.audits.record(tx, { actor: caller.customerId, action: 'cancelOrder', targetType: AuditTargetType.ORDER, targetId: snapshot.id, details: { number: snapshot.number, reason: snapshot.cancelReason } });
      }
      return snapshot;
    };
    if (admin) return unitOfWork(em, cancel);
    // A customer's cancel is then one statement, atomic on its own: no BEGIN and COMMIT around it.
    const after = new AfterCommit();
    const snapshot = await cancel(em, after);
    await after.run(() => undefined);
    return snapshot;
  }

  /**
   * The payment timeout: cancels the order with reason TIMEOUT if it is still PENDING and its payment
   * time is up, giving back what it held; does nothing when it was paid or cancelled meanwhile. A run
   * before the order's `expiresAt` (a job run early) changes nothing and asks for the timeout again at
   * that time. Returns whether it cancelled.
   */
  async expire(em: EntityManager, orderId: string): Promise<boolean> {
    if (!isUuid(orderId)) return false;
    const snapshot = await unitOfWork(em, async (tx, after) => {
      const cancelled = await this.cancelPending(tx, after, orderId, 'system:timeout', CancelReason.TIMEOUT);
      if (cancelled) {
        await this.deps.audits.record(tx, { actor: 'system:timeout', action: 'orderTimeout', targetType: AuditTargetType.ORDER, targetId: cancelled.snapshot.id, details: { number: cancelled.snapshot.number } });
        return cancelled;
      }
      await query(tx, orderTimeoutJobs(sql`"order"`, sql`id = ${orderId}::uuid and status = 'PENDING' and expires_at > now()`));
      return null;
    });
    return snapshot !== null;
  }

  /**
   * Gives back, once, whatever the order still holds (see {@link ReleasedHolds}) without changing its
   * status: for a path that ends an order some other way than cancelling it, e.g. a refund, inside the
   * transaction that makes that change. One statement. Returns what was given back (all false when
   * nothing was held).
   */
  async giveBackHeld(tx: EntityManager, after: AfterCommit, orderId: string): Promise<{ unpaidSlot: boolean; stock: boolean; couponUse: boolean }> {
    const [row] = await this.giveBackWith(tx, after, releaseHolds(orderId));
    return { unpaidSlot: Boolean(row?.order.released_unpaid_slot), stock: Boolean(row?.order.released_stock), couponUse: Boolean(row?.order.released_coupon_use) };
  }

  /** The graphile-worker handlers of this module. */
  tasks(em: () => EntityManager) {
    return {
      [ORDER_TIMEOUT_TASK]: async (payload: unknown) => {
        const orderId = (payload as { orderId?: unknown } | null)?.orderId;
        if (typeof orderId === 'string') await this.expire(em(), orderId);
      },
    };
  }

  /**
   * Moves a PENDING order (of `ownerId`, when given) to CANCELLED and gives back what it held, in one
   * statement (see {@link giveBackWith}); expires its open Checkout Sessions; publishes after commit.
   * Null when it is not PENDING (or not the owner's). `actor` (a customer id or `system:timeout`) goes
   * into the order's history.
   */
  private async cancelPending(
    tx: EntityManager,
    after: AfterCommit,
    orderId: string,
    actor: string,
    reason: CancelReason | { ownReasonFor: string },
    ownerId?: string,
  ): Promise<Ended | null> {
    // Its open Checkout Session could still be paid for up to 24 h: expired at the gateway after commit,
    // asked for in the same statement.
    const expiry = this.deps.checkouts.expireOpenStep(sql`select id from changed`);
    const [row] = await this.giveBackWith(tx, after, cancelTransition(orderId, actor, reason, ownerId), expiry);
    if (!row) return null;
    const snapshot = snapshotFromRows(row.order, row.delivery, row.plan_provider_id);
    this.deps.events.afterCommit(after, snapshot);
    return { snapshot, customerRole: row.customer_role };
  }

  /**
   * Runs `change` (an update of one order returning its row and what it released, see
   * order-transitions.ts) and, in the same statement, gives back exactly what it released: the unpaid
   * slot, the unit of stock (counted in `stock_used` even if the plan has become unlimited since, so the
   * count stays right if a stock is set again), the customer's and then the coupon's use. The rows are
   * locked in the order creating takes them (order, customer, plan, the customer's coupon use, the
   * coupon), so a cancel and an order never deadlock. `also` is one more step of the statement (it may
   * read `changed`; the statement reads it, so it runs even when it changes nothing itself). Returns the
   * changed order as written (no row when `change` changed nothing).
   */
  private async giveBackWith(tx: EntityManager, after: AfterCommit, change: Sql, also?: Sql): Promise<GivenBackRow[]> {
    const uses = giveBackCouponUses(sql`select coupon_id, customer_id from changed where released_coupon_use`);
    const steps = new Steps().add('changed', change);
    if (also) steps.add('also', also);
    const rows = await query<GivenBackRow>(
      tx,
      steps
        .add('slot', giveBackUnpaidSlots(sql`select customer_id from changed where released_unpaid_slot`))
        .add('stock', giveBackStockUnits(sql`select plan_id from changed where released_stock`))
        .add('customer_coupon_use', uses.customerUses)
        .add('coupon_use_given', uses.couponUses)
        // Each step is read in turn, so they run in that order (a step nobody reads would run last).
        .then(sql`select row_to_json(c) as order,
                         (select row_to_json(d) from delivery d where d.order_id = c.id) as delivery,
                         (select provider_id from plan where id = c.plan_id) as plan_provider_id,
                         (select role from customer where id = c.customer_id) as customer_role,
                         (select count(*) from slot) as slots,
                         coalesce((select bool_or(limited) from stock), false) as stock_listed,
                         (select count(*) from customer_coupon_use) as customer_coupon_uses,
                         (select count(*) from coupon_use_given) as coupon_uses
                         ${also ? sql`, (select count(*) from also) as also_rows` : sql``}
                    from changed c`),
      { prepared: true },
    );
    if (rows[0]?.stock_listed) this.deps.plans.catalogueChanged(after, rows[0].order.plan_id);
    return rows;
  }
}
