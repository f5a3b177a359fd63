import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../../config';
import { enqueue } from '../../infra/jobs';
import { Role, type Viewer } from '../../shared/caller';
import {
  BadUserInputError,
  CouponInvalidError,
  NotFoundError,
  OrderNotCancellableError,
  OutOfStockError,
  UnpaidOrderLimitError,
} from '../../shared/errors';
import { isUuid } from '../../shared/ids';
import { MAX_ORDER_AMOUNT, priceOrder } from '../../shared/money';
import { PageInfo } from '../../shared/types';
import { unitOfWork, type AfterCommit } from '../../shared/unit-of-work';
import { AuditTargetType, type AuditService } from '../audit';
import { couponKey, CouponRejection, couponMessage, type Coupon, type CouponService } from '../coupon';
import { resolvePurchase, type PlanService } from '../plan';
import { decodeOrderCursor, encodeOrderCursor, myOrdersQuery } from './order.cursor';
import { CancelReason, Order, OrderStatus } from './order.entity';
import type { OrderEvents } from './order.events';
import { orderLifecycle } from './order.fsm';
import type { CreateOrderInput } from './order.inputs';
import { readSnapshot, toSnapshot, type OrderSnapshot } from './order.snapshot';

/** An authenticated caller: a viewer with a customer row. */
export type Caller = Viewer & { customerId: string };

/** Who reads or cancels an order: their customer id and token role (their group does not matter). */
export type OrderActor = Pick<Caller, 'customerId' | 'role'>;

/** Name of the job that cancels an unpaid order when its payment time is up. */
export const ORDER_TIMEOUT_TASK = 'order_timeout';

/** Default and largest page size of `myOrders`. */
export const MY_ORDERS_DEFAULT_PAGE = 20;
export const MY_ORDERS_MAX_PAGE = 100;

/** One page of a customer's orders. */
export interface OrderPage {
  edges: Array<{ cursor: string; node: OrderSnapshot }>;
  pageInfo: PageInfo;
}

/**
 * What an order held when a guarded update cleared it: its customer's unpaid slot, a unit of its plan's
 * stock, a use of its coupon (each flag as it was before the update), with the rows they belong to.
 */
interface Held {
  id: string;
  customer_id: string;
  plan_id: string;
  coupon_id: string | null;
  holds_unpaid_slot: boolean;
  holds_stock: boolean;
  holds_coupon_use: boolean;
}

/**
 * Clears every `holds_*` flag of the order the `held` subquery selects and locks, and returns them as
 * they were: `for update` in the subquery waits for a racing change of the row and then reads its latest
 * version, so what is returned is exactly what this statement took away (RETURNING alone shows the new row).
 */
const CLEAR_HELD = `holds_unpaid_slot = false, holds_stock = false, holds_coupon_use = false`;
const RETURN_HELD = `returning o.id, o.customer_id, o.plan_id, o.coupon_id, held.holds_unpaid_slot, held.holds_stock, held.holds_coupon_use`;

/**
 * Expires, after commit, the open Checkout Sessions of an order leaving PENDING inside `tx` (the payment
 * module's GatewayCheckoutService; passed in, so this module does not depend on that one).
 */
export interface OpenCheckouts {
  expireOpen(tx: EntityManager, orderId: string): Promise<void>;
}

/** Thrown inside a createOrder transaction whose idempotency key is already taken: roll back, answer the first order. */
class DuplicateRequest extends Error {}

/** `ORD-000123`. */
export const formatOrderNumber = (n: number | string): string => `ORD-${String(n).padStart(6, '0')}`;

/**
 * Orders: creation with locked amounts, cancellation (customer, admin, payment timeout), reading.
 * Every limit is held by the database: a guarded update or upsert per limit, in one fixed order
 * (customer, plan, customer's coupon use, coupon), so racing transactions queue instead of
 * deadlocking, and the popular coupon row is locked last, only until commit.
 */
export class OrderService {
  constructor(
    private readonly deps: {
      config: Config;
      plans: PlanService;
      coupons: CouponService;
      events: OrderEvents;
      /** An admin's cancel and the payment timeout are recorded in the audit log. */
      audits: AuditService;
      /** Expires the open Checkout Sessions of an order that stops waiting for payment. */
      checkouts: OpenCheckouts;
    },
  ) {}

  /**
   * Creates a PENDING order as one unit of work. In order: the plan and upgrades are resolved as the
   * caller sees them (see {@link resolvePurchase}: NOT_FOUND, PLAN_NOT_AVAILABLE, BAD_USER_INPUT); the
   * coupon is judged (COUPON_INVALID with `extensions.rejection`); the amounts are computed and stored
   * with the order, which claims the idempotency key; then the guarded counters: the customer's unpaid
   * orders (UNPAID_ORDER_LIMIT), the plan's stock when it has one (OUT_OF_STOCK), the customer's uses of
   * the coupon, and last the coupon's uses; and the payment timeout job is enqueued.
   *
   * The same `idempotencyKey` from the same customer answers the first order, also when both requests
   * race: the order insert skips on the (customer, key) unique constraint, waiting for the first
   * transaction to settle, and the loser rolls back and reads the winner. The same key with another
   * plan, upgrades (compared as a set) or coupon (compared as normalised) is BAD_USER_INPUT, like a
   * reused Stripe idempotency key: answering the first order would hide the client's mistake.
   *
   * The order records what it took (`holds_*`) and the rates in force (`*_bps`), for
   * {@link OrderService.giveBackHeld} and the release of its escrow.
   */
  async create(em: EntityManager, caller: Caller, input: CreateOrderInput): Promise<OrderSnapshot> {
    const key = input.idempotencyKey ?? null;
    if (key !== null) {
      const first = await this.findByKey(em, caller.customerId, key);
      if (first) return this.sameRequest(first, input);
    }
    const couponCode = input.couponCode == null ? null : this.deps.coupons.normaliseCode(input.couponCode, 'couponCode');
    const { config, coupons } = this.deps;
    try {
      return await unitOfWork(em, async (tx, after) => {
        const purchase = await resolvePurchase(tx, this.deps.plans, caller, input.planId, input.upgradeIds);
        let couponId: string | null = null;
        let price = priceOrder(purchase.subtotal, null, config.taxRateBps);
        let coupon: Coupon | null = null;
        if (couponCode !== null) {
          const verdict = await coupons.judge(tx, couponCode, purchase.plan.id, purchase.subtotal, caller.customerId);
          if (verdict.rejection) throw this.couponInvalid(couponCode, verdict.rejection, verdict.coupon);
          coupon = verdict.coupon!;
          couponId = coupon.id;
          price = verdict.price;
        }
        if (price.total > MAX_ORDER_AMOUNT) throw BadUserInputError.field('upgradeIds', 'the order amount is too large');

        const [{ n }] = await tx.execute<{ n: string }[]>(`select nextval('order_number_seq') as n`);
        const inserted = await tx.execute<{ id: string; expires_at: Date }[]>(
          `insert into "order" (id, number, customer_id, plan_id, upgrade_ids, coupon_id, coupon_code, currency,
                                subtotal, discount, tax, total, status, expires_at, version, idempotency_key,
                                holds_unpaid_slot, holds_stock, holds_coupon_use, tax_rate_bps, platform_fee_bps, profit_tax_bps,
                                actor, plan_name, plan_price, upgrades)
           values (gen_random_uuid(), ?, ?, ?, array(select jsonb_array_elements_text(?::jsonb)), ?, ?, ?,
                   ?, ?, ?, ?, ?, now() + make_interval(secs => ?), 1, ?,
                   true, ?, ?, ?, ?, ?,
                   ?, ?, ?, ?::jsonb)
           on conflict on constraint order_customer_idempotency_unique do nothing
           returning id, expires_at`,
          [
            formatOrderNumber(n),
            caller.customerId,
            purchase.plan.id,
            JSON.stringify(purchase.upgrades.map((u) => u.id)),
            couponId,
            coupon?.code ?? null,
            config.currency,
            price.subtotal,
            price.discount,
            price.tax,
            price.total,
            OrderStatus.PENDING,
            config.orderPaymentTimeoutSeconds,
            key,
            // Every limit below is taken or the transaction rolls back, so the flags can be written now;
            // only a plan made unlimited meanwhile takes no unit, and that is corrected below.
            purchase.plan.stock !== null,
            coupon !== null,
            config.taxRateBps,
            config.platformFeeBps,
            config.profitTaxBps,
            caller.customerId,
            // What was bought, as it is now: later edits of the plan or its upgrades leave the order alone.
            purchase.plan.name,
            purchase.plan.price,
            JSON.stringify(purchase.upgrades.map((u) => ({ id: u.id, name: u.name, price: u.price }))),
          ],
        );
        if (inserted.length === 0) throw new DuplicateRequest();
        const { id, expires_at } = inserted[0];

        if (!(await this.takeUnpaidSlot(tx, caller.customerId))) {
          throw new UnpaidOrderLimitError(`You already hold ${config.maxUnpaidOrders} unpaid orders; pay or cancel one first`, {
            limit: config.maxUnpaidOrders,
          });
        }
        if (purchase.plan.stock !== null) {
          const stock = await this.takeStock(tx, purchase.plan.id);
          if (stock === 'sold-out') throw new OutOfStockError();
          if (stock === 'unlimited') await tx.execute(`update "order" set holds_stock = false where id = ?`, [id]);
          else this.deps.plans.catalogueChanged(after, purchase.plan.id);
        }
        if (coupon && !(await coupons.takeCustomerUse(tx, coupon, caller.customerId))) {
          throw this.couponInvalid(couponCode!, CouponRejection.PER_USER_LIMIT_REACHED, coupon);
        }
        await enqueue(tx, ORDER_TIMEOUT_TASK, { orderId: id }, { runAt: new Date(expires_at), jobKey: `${ORDER_TIMEOUT_TASK}:${id}` });
        const snapshot = await this.snapshotOf(tx, id);
        if (coupon) {
          const rejection = await coupons.takeUse(tx, coupon.id);
          if (rejection) throw this.couponInvalid(couponCode!, rejection, coupon);
        }
        this.deps.events.afterCommit(after, snapshot);
        return snapshot;
      });
    } catch (e) {
      if (e instanceof DuplicateRequest && key !== null) {
        const first = await this.findByKey(em, caller.customerId, key);
        if (first) return this.sameRequest(first, input);
      }
      throw e;
    }
  }

  /**
   * Cancels a PENDING order for its customer (reason CUSTOMER) or an admin (ADMIN), giving back what it
   * held in the same transaction. Another customer's order answers NOT_FOUND, exactly like an order
   * that does not exist, so ids of other people's orders cannot be probed. A guarded status update
   * decides races with payment and the timeout: exactly one of them changes the order; a cancel that
   * loses answers ORDER_NOT_CANCELLABLE.
   */
  async cancel(em: EntityManager, caller: OrderActor, orderId: string): Promise<OrderSnapshot> {
    if (!isUuid(orderId)) throw new NotFoundError('No such order');
    return unitOfWork(em, async (tx, after) => {
      if (caller.role !== Role.ADMIN) {
        // The guarded update checks ownership too; only a refusal reads the owner, to tell NOT_FOUND apart.
        const snapshot = await this.cancelPending(tx, after, orderId, CancelReason.CUSTOMER, caller.customerId, caller.customerId);
        if (snapshot) return snapshot;
        const [row] = await tx.execute<{ customer_id: string }[]>(`select customer_id from "order" where id = ?`, [orderId]);
        if (row?.customer_id !== caller.customerId) throw new NotFoundError('No such order');
        throw new OrderNotCancellableError();
      }
      const [row] = await tx.execute<{ customer_id: string }[]>(`select customer_id from "order" where id = ?`, [orderId]);
      if (!row) throw new NotFoundError('No such order');
      const own = row.customer_id === caller.customerId;
      const snapshot = await this.cancelPending(tx, after, orderId, own ? CancelReason.CUSTOMER : CancelReason.ADMIN, caller.customerId);
      if (!snapshot) throw new OrderNotCancellableError();
      await this.deps.audits.record(tx, { actor: caller.customerId, action: 'cancelOrder', targetType: AuditTargetType.ORDER, targetId: orderId, details: { number: snapshot.number, reason: snapshot.cancelReason } });
      return snapshot;
    });
  }

  /**
   * The payment timeout: cancels the order with reason TIMEOUT if it is still PENDING, giving back what
   * it held; does nothing when it was paid or cancelled meanwhile. Returns whether it cancelled.
   */
  async expire(em: EntityManager, orderId: string): Promise<boolean> {
    if (!isUuid(orderId)) return false;
    const snapshot = await unitOfWork(em, async (tx, after) => {
      const cancelled = await this.cancelPending(tx, after, orderId, CancelReason.TIMEOUT, 'system:timeout');
      if (cancelled) await this.deps.audits.record(tx, { actor: 'system:timeout', action: 'orderTimeout', targetType: AuditTargetType.ORDER, targetId: orderId, details: { number: cancelled.number } });
      return cancelled;
    });
    return snapshot !== null;
  }

  /**
   * Frees the customer's unpaid-order slot of an order leaving PENDING for PAID: the paying
   * transaction calls it after its guarded status update (a paid order keeps its coupon use and its unit
   * of stock). The slot is given back only if the order still holds it (its flag is cleared in the same
   * statement), so no later path can give it back again. Without an `id` (an older caller) the slot is
   * freed unconditionally, as the guarded status update alone allows once.
   */
  async releaseUnpaidSlot(tx: EntityManager, order: { id?: string; customer: { id: string } }): Promise<void> {
    if (order.id === undefined) {
      await tx.execute(`update customer set unpaid_orders = unpaid_orders - 1 where id = ? and unpaid_orders > 0`, [order.customer.id]);
      return;
    }
    await tx.execute(
      `with freed as (update "order" set holds_unpaid_slot = false where id = ? and holds_unpaid_slot returning customer_id)
       update customer c set unpaid_orders = c.unpaid_orders - 1 from freed where c.id = freed.customer_id and c.unpaid_orders > 0`,
      [order.id],
    );
  }

  /**
   * Gives back, once, whatever the order still holds (see {@link Held}) without changing its status:
   * for a path that ends an order some other way than cancelling it, e.g. a refund, inside the
   * transaction that makes that change. Returns what was given back (all false when nothing was held).
   */
  async giveBackHeld(tx: EntityManager, after: AfterCommit, orderId: string): Promise<{ unpaidSlot: boolean; stock: boolean; couponUse: boolean }> {
    const [held] = await tx.execute<Held[]>(
      `update "order" o set ${CLEAR_HELD}
         from (select id, holds_unpaid_slot, holds_stock, holds_coupon_use from "order"
                where id = ? and (holds_unpaid_slot or holds_stock or holds_coupon_use) for update) held
        where o.id = held.id
       ${RETURN_HELD}`,
      [orderId],
    );
    if (held) await this.giveBack(tx, after, held);
    return { unpaidSlot: Boolean(held?.holds_unpaid_slot), stock: Boolean(held?.holds_stock), couponUse: Boolean(held?.holds_coupon_use) };
  }

  /** One order: the caller's own, or any for admins. NOT_FOUND for unknown ids, non-UUIDs and other customers' orders alike. */
  async get(em: EntityManager, caller: OrderActor, id: string): Promise<OrderSnapshot> {
    const order = isUuid(id) ? await em.findOne(Order, { id }, { populate: ['plan', 'delivery'] }) : null;
    if (!order || (order.customer.id !== caller.customerId && caller.role !== Role.ADMIN)) throw new NotFoundError('No such order');
    return toSnapshot(order);
  }

  /**
   * The caller's orders, newest first, by keyset pagination (stable while orders are added): `first`
   * 1 to 100, default 20 (BAD_USER_INPUT outside; a client asking for 1000 learns the limit instead of
   * silently getting 100), `after` a cursor from an earlier page (BAD_USER_INPUT when malformed).
   */
  async list(em: EntityManager, caller: OrderActor, args: { first?: number | null; after?: string | null; status?: OrderStatus | null }): Promise<OrderPage> {
    const first = args.first ?? MY_ORDERS_DEFAULT_PAGE;
    if (!Number.isInteger(first) || first < 1 || first > MY_ORDERS_MAX_PAGE) {
      throw BadUserInputError.field('first', `must be 1 to ${MY_ORDERS_MAX_PAGE}`);
    }
    const after = args.after != null ? decodeOrderCursor(args.after) : null;
    const params: unknown[] = [caller.customerId];
    if (args.status) params.push(args.status);
    if (after) params.push(after.createdAtMicros, after.id);
    params.push(first + 1);
    const rows = await em.execute<{ id: string; created_at_micros: string }[]>(myOrdersQuery({ status: !!args.status, after: !!after }), params);
    const page = rows.slice(0, first);
    const orders = page.length ? await em.find(Order, { id: { $in: page.map((r) => r.id) } }, { populate: ['plan', 'delivery'] }) : [];
    const byId = new Map(orders.map((o) => [o.id, o]));
    const edges = page.map((r) => ({
      cursor: encodeOrderCursor({ createdAtMicros: r.created_at_micros, id: r.id }),
      node: toSnapshot(byId.get(r.id)!),
    }));
    return { edges, pageInfo: new PageInfo(rows.length > first, edges.at(-1)?.cursor ?? null) };
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
   * Moves a PENDING order (of `ownerId`, when given) to CANCELLED with a guarded update that also
   * clears what it held, gives exactly that back, publishes after commit; null when it is not PENDING
   * (or not the owner's). `actor` (a customer id or `system:timeout`) goes into the order's history.
   */
  private async cancelPending(tx: EntityManager, after: AfterCommit, orderId: string, reason: CancelReason, actor: string, ownerId?: string): Promise<OrderSnapshot | null> {
    const rows = await tx.execute<Held[]>(
      `update "order" o set status = ?, cancel_reason = ?, cancelled_at = now(), expires_at = null, version = o.version + 1, actor = ?, ${CLEAR_HELD}
         from (select id, holds_unpaid_slot, holds_stock, holds_coupon_use from "order"
                where id = ? and status in (?)${ownerId === undefined ? '' : ' and customer_id = ?'} for update) held
        where o.id = held.id
       ${RETURN_HELD}`,
      [OrderStatus.CANCELLED, reason, actor, orderId, orderLifecycle.from(OrderStatus.CANCELLED), ...(ownerId === undefined ? [] : [ownerId])],
    );
    if (rows.length === 0) return null;
    await this.giveBack(tx, after, rows[0]);
    // Its open Checkout Session could still be paid for up to 24 h: expired at the gateway after commit.
    await this.deps.checkouts.expireOpen(tx, orderId);
    const snapshot = await this.snapshotOf(tx, orderId);
    this.deps.events.afterCommit(after, snapshot);
    return snapshot;
  }

  /**
   * Gives back what a guarded update just cleared from an order (see {@link Held}): the unpaid slot,
   * the unit of stock (counted in `stock_used` even if the plan has become unlimited since, so the count
   * stays right if a stock is set again), and the coupon use (the customer's and the coupon's, coupon
   * row last).
   */
  private async giveBack(tx: EntityManager, after: AfterCommit, held: Held): Promise<void> {
    if (held.holds_unpaid_slot) {
      await tx.execute(`update customer set unpaid_orders = unpaid_orders - 1 where id = ? and unpaid_orders > 0`, [held.customer_id]);
    }
    if (held.holds_stock) {
      const [plan] = await tx.execute<{ limited: boolean }[]>(
        `update plan set stock_used = stock_used - 1 where id = ? and stock_used > 0 returning stock is not null as limited`,
        [held.plan_id],
      );
      if (plan?.limited) this.deps.plans.catalogueChanged(after, held.plan_id);
    }
    if (held.holds_coupon_use && held.coupon_id) await this.deps.coupons.giveBack(tx, held.coupon_id, held.customer_id);
  }

  /** Takes one of the customer's unpaid-order slots; false when MAX_UNPAID_ORDERS are taken. */
  private async takeUnpaidSlot(tx: EntityManager, customerId: string): Promise<boolean> {
    const rows = await tx.execute(`update customer set unpaid_orders = unpaid_orders + 1 where id = ? and unpaid_orders < ? returning unpaid_orders`, [
      customerId,
      this.deps.config.maxUnpaidOrders,
    ]);
    return rows.length === 1;
  }

  /** Takes a unit of a plan with a stock: `taken`, `sold-out` when none is left, `unlimited` (nothing taken) for a plan made unlimited meanwhile. */
  private async takeStock(tx: EntityManager, planId: string): Promise<'taken' | 'sold-out' | 'unlimited'> {
    const rows = await tx.execute(`update plan set stock_used = stock_used + 1 where id = ? and stock is not null and stock_used < stock returning stock_used`, [planId]);
    if (rows.length === 1) return 'taken';
    const [plan] = await tx.execute<{ stock: number | null }[]>(`select stock from plan where id = ?`, [planId]);
    return plan?.stock === null ? 'unlimited' : 'sold-out';
  }

  private couponInvalid(code: string, rejection: CouponRejection, coupon: Coupon | null = null): CouponInvalidError {
    return new CouponInvalidError(couponMessage(code, coupon, rejection, 0, this.deps.config.currency), { rejection });
  }

  private findByKey(em: EntityManager, customerId: string, key: string): Promise<OrderSnapshot | null> {
    return readSnapshot(em, { customer: customerId, idempotencyKey: key });
  }

  /** The first order of an idempotency key, if `input` asks for the same thing; BAD_USER_INPUT otherwise. */
  private sameRequest(first: OrderSnapshot, input: CreateOrderInput): OrderSnapshot {
    const asked = new Set((input.upgradeIds ?? []).map((id) => id.toLowerCase()));
    const code = (c: string | null | undefined) => (c == null ? null : couponKey(c));
    const same =
      input.planId.toLowerCase() === first.planId &&
      asked.size === first.upgradeIds.length &&
      first.upgradeIds.every((id) => asked.has(id)) &&
      code(input.couponCode) === code(first.couponCode);
    if (!same) throw BadUserInputError.field('idempotencyKey', 'already used for an order of another plan, upgrades or coupon');
    return first;
  }

  /** The order as this transaction sees it now. */
  private async snapshotOf(tx: EntityManager, id: string): Promise<OrderSnapshot> {
    const snapshot = await readSnapshot(tx, { id });
    if (!snapshot) throw new Error(`order ${id} vanished inside its own transaction`);
    return snapshot;
  }
}
