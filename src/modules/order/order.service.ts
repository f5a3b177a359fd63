import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../../config';
import { enqueue } from '../../infra/jobs';
import {
  BadUserInputError,
  CouponInvalidError,
  NotFoundError,
  OrderNotCancellableError,
  OutOfStockError,
  UnpaidOrderLimitError,
} from '../../shared/errors';
import { isUuid } from '../../shared/ids';
import { priceOrder } from '../../shared/money';
import { PageInfo } from '../../shared/types';
import { unitOfWork, type AfterCommit } from '../../shared/unit-of-work';
import type { Coupon } from '../coupon/coupon.entity';
import type { CouponService } from '../coupon/coupon.service';
import { CouponRejection, couponMessage } from '../coupon/coupon.rules';
import { Role } from '../customer/customer.entity';
import type { PlanService, Viewer } from '../plan/plan.service';
import { CancelReason, Order, OrderStatus } from './order.entity';
import { decodeOrderCursor, encodeOrderCursor, myOrdersQuery } from './order.cursor';
import type { OrderEvents } from './order.events';
import { orderLifecycle } from './order.fsm';
import type { CreateOrderInput } from './order.inputs';
import { MAX_ORDER_AMOUNT, resolvePurchase } from './order.pricing';
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

/** The ids of what a pending order holds: its customer's unpaid slot, a unit of its plan, a coupon use. */
interface Held {
  id: string;
  customer_id: string;
  plan_id: string;
  coupon_id: string | null;
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
   * transaction to settle, and the loser rolls back and reads the winner.
   */
  async create(em: EntityManager, caller: Caller, input: CreateOrderInput): Promise<OrderSnapshot> {
    const key = input.idempotencyKey ?? null;
    if (key !== null) {
      const first = await this.findByKey(em, caller.customerId, key);
      if (first) return first;
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
                                subtotal, discount, tax, total, status, expires_at, version, idempotency_key)
           values (gen_random_uuid(), ?, ?, ?, array(select jsonb_array_elements_text(?::jsonb)), ?, ?, ?,
                   ?, ?, ?, ?, ?, now() + make_interval(secs => ?), 1, ?)
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
          if (!(await this.takeStock(tx, purchase.plan.id))) throw new OutOfStockError();
          this.deps.plans.catalogueChanged(after, purchase.plan.id);
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
        if (first) return first;
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
        const snapshot = await this.cancelPending(tx, after, orderId, CancelReason.CUSTOMER, caller.customerId);
        if (snapshot) return snapshot;
        const [row] = await tx.execute<{ customer_id: string }[]>(`select customer_id from "order" where id = ?`, [orderId]);
        if (row?.customer_id !== caller.customerId) throw new NotFoundError('No such order');
        throw new OrderNotCancellableError();
      }
      const [row] = await tx.execute<{ customer_id: string }[]>(`select customer_id from "order" where id = ?`, [orderId]);
      if (!row) throw new NotFoundError('No such order');
      const own = row.customer_id === caller.customerId;
      const snapshot = await this.cancelPending(tx, after, orderId, own ? CancelReason.CUSTOMER : CancelReason.ADMIN);
      if (!snapshot) throw new OrderNotCancellableError();
      return snapshot;
    });
  }

  /**
   * The payment timeout: cancels the order with reason TIMEOUT if it is still PENDING, giving back what
   * it held; does nothing when it was paid or cancelled meanwhile. Returns whether it cancelled.
   */
  async expire(em: EntityManager, orderId: string): Promise<boolean> {
    if (!isUuid(orderId)) return false;
    const snapshot = await unitOfWork(em, (tx, after) => this.cancelPending(tx, after, orderId, CancelReason.TIMEOUT));
    return snapshot !== null;
  }

  /**
   * Frees the customer's unpaid-order slot held by a PENDING order. Call it inside the transaction that
   * moves the order out of PENDING with a guarded status update (so it runs once per order): cancelling
   * calls it through {@link release}; paying calls it alone, since a paid order keeps its coupon use
   * and its unit of stock.
   */
  async releaseUnpaidSlot(tx: EntityManager, order: { customer: { id: string } }): Promise<void> {
    await tx.execute(`update customer set unpaid_orders = unpaid_orders - 1 where id = ? and unpaid_orders > 0`, [order.customer.id]);
  }

  /**
   * Gives back everything a PENDING order held: the unpaid slot, its unit of stock (plans with a stock
   * only, so unlimited plans keep no hot row), and its coupon use (the customer's and the coupon's,
   * coupon row last). Run inside the transaction whose guarded update took the order out of PENDING.
   */
  async release(tx: EntityManager, after: AfterCommit, held: { customerId: string; planId: string; couponId: string | null }): Promise<void> {
    await this.releaseUnpaidSlot(tx, { customer: { id: held.customerId } });
    const stock = await tx.execute(`update plan set stock_used = stock_used - 1 where id = ? and stock is not null and stock_used > 0 returning id`, [held.planId]);
    if (stock.length > 0) this.deps.plans.catalogueChanged(after, held.planId);
    if (held.couponId) await this.deps.coupons.giveBack(tx, held.couponId, held.customerId);
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
   * Moves a PENDING order (of `ownerId`, when given) to CANCELLED with a guarded update, releases what
   * it held, publishes after commit; null when it is not PENDING (or not the owner's).
   */
  private async cancelPending(tx: EntityManager, after: AfterCommit, orderId: string, reason: CancelReason, ownerId?: string): Promise<OrderSnapshot | null> {
    const rows = await tx.execute<Held[]>(
      `update "order" set status = ?, cancel_reason = ?, cancelled_at = now(), expires_at = null, version = version + 1
        where id = ? and status in (?)${ownerId === undefined ? '' : ' and customer_id = ?'}
       returning id, customer_id, plan_id, coupon_id`,
      [OrderStatus.CANCELLED, reason, orderId, orderLifecycle.from(OrderStatus.CANCELLED), ...(ownerId === undefined ? [] : [ownerId])],
    );
    if (rows.length === 0) return null;
    const held = rows[0];
    await this.release(tx, after, { customerId: held.customer_id, planId: held.plan_id, couponId: held.coupon_id });
    const snapshot = await this.snapshotOf(tx, orderId);
    this.deps.events.afterCommit(after, snapshot);
    return snapshot;
  }

  /** Takes one of the customer's unpaid-order slots; false when MAX_UNPAID_ORDERS are taken. */
  private async takeUnpaidSlot(tx: EntityManager, customerId: string): Promise<boolean> {
    const rows = await tx.execute(`update customer set unpaid_orders = unpaid_orders + 1 where id = ? and unpaid_orders < ? returning unpaid_orders`, [
      customerId,
      this.deps.config.maxUnpaidOrders,
    ]);
    return rows.length === 1;
  }

  /** Takes a unit of a plan with a stock; false when none is left (a plan made unlimited meanwhile needs none). */
  private async takeStock(tx: EntityManager, planId: string): Promise<boolean> {
    const rows = await tx.execute(`update plan set stock_used = stock_used + 1 where id = ? and stock is not null and stock_used < stock returning stock_used`, [planId]);
    if (rows.length === 1) return true;
    const [plan] = await tx.execute<{ stock: number | null }[]>(`select stock from plan where id = ?`, [planId]);
    return plan?.stock === null;
  }

  private couponInvalid(code: string, rejection: CouponRejection, coupon: Coupon | null = null): CouponInvalidError {
    return new CouponInvalidError(couponMessage(code, coupon, rejection, 0, this.deps.config.currency), { rejection });
  }

  private findByKey(em: EntityManager, customerId: string, key: string): Promise<OrderSnapshot | null> {
    return readSnapshot(em, { customer: customerId, idempotencyKey: key });
  }

  /** The order as this transaction sees it now. */
  private async snapshotOf(tx: EntityManager, id: string): Promise<OrderSnapshot> {
    const snapshot = await readSnapshot(tx, { id });
    if (!snapshot) throw new Error(`order ${id} vanished inside its own transaction`);
    return snapshot;
  }
}
