import type { EntityManager } from '@mikro-orm/postgresql';
import { LRUCache } from 'lru-cache';
import type { Config } from '../../config';
import { BadUserInputError, CouponInvalidError, NotFoundError, OutOfStockError, UnpaidOrderLimitError } from '../../shared/errors';
import { MAX_ORDER_AMOUNT, priceOrder, type PriceBreakdown } from '../../shared/money';
import { joinSql, query, rawSql, sql, textArray, type Sql } from '../../shared/sql';
import { AfterCommit } from '../../shared/unit-of-work';
import {
  couponFacts,
  couponKey,
  couponMessage,
  couponRead,
  CouponRejection,
  couponStill,
  takeCouponUse,
  takeHomeCouponUse,
  takeCustomerUse,
  type CouponFacts,
  type CouponRows,
  type CouponService,
  type CouponShown,
} from '../coupon';
import { customerGroupOf, takeUnpaidSlot } from '../customer';
import {
  checkPurchaseIds,
  purchaseFacts,
  purchaseFrom,
  purchaseRead,
  purchaseStill,
  takeStockUnit,
  type PlanService,
  type PurchaseFacts,
  type PurchaseRows,
} from '../plan';
import { orderTimeoutJobs } from './order-release';
import type { OrderCreator } from './order.actor';
import { OrderStatus } from './order.entity';
import type { OrderEvents } from './order.events';
import type { CreateOrderInput } from './order.inputs';
import { snapshotFromRows, type OrderRow } from './order.row';
import { readSnapshot, type OrderSnapshot } from './order.snapshot';
import { Steps } from './statement-steps';

/** What the statement that places an order answers (no row: the idempotency key was taken meanwhile). */
interface PlacedRow {
  placed: OrderRow;
}

/**
 * Why the statement that places an order undid itself (SQLSTATE {@link REFUSED_SQLSTATE}, the reason as
 * the error's detail): the first limit that refused, in the order they are taken.
 */
enum Refusal {
  UNPAID_ORDER_LIMIT = 'UNPAID_ORDER_LIMIT',
  OUT_OF_STOCK = 'OUT_OF_STOCK',
  /** The plan was made unlimited since it was read: nothing to take, and the order must not record a unit. */
  PLAN_MADE_UNLIMITED = 'PLAN_MADE_UNLIMITED',
  PER_USER_LIMIT_REACHED = 'PER_USER_LIMIT_REACHED',
  COUPON_USE_REFUSED = 'COUPON_USE_REFUSED',
  /** What the order was to be placed with (plan, upgrades, coupon, the customer's group) has changed. */
  CHANGED = 'CHANGED',
}

/** What an order is placed with: the purchase and coupon as plain data, and the price they make. */
interface Placement {
  purchase: PurchaseFacts;
  coupon: CouponFacts | null;
  price: PriceBreakdown;
}

/** Placements remembered, one per (plan, upgrades, coupon) asked for. */
const REMEMBERED_PLACEMENTS = 1_000;

/** The SQLSTATE of `order_refuse` (migrations/Migration20261202180001_OrderRefused.ts). */
const REFUSED_SQLSTATE = 'CO409';

/** Thrown when an order's idempotency key is already taken: nothing was written; answer the first order. */
class DuplicateRequest extends Error {}

/** Thrown when what an order was read with changed before it was written: nothing was written; read again. */
class PlacementChanged extends Error {}

/** `ORD-000123` from `order_number_seq`, in SQL (more digits once past 999999). */
const NEXT_ORDER_NUMBER = rawSql(`(select 'ORD-' || lpad(n::text, greatest(6, length(n::text)), '0') from nextval('order_number_seq') as n)`);

/** What placing an order needs from the rest of the app. */
export interface OrderPlacementDeps {
  config: Config;
  plans: PlanService;
  coupons: CouponService;
  events: OrderEvents;
}

/**
 * Placing orders: one read, then one statement that writes the order with its locked amounts and takes
 * every limit. Every limit is held by the database: a guarded update or upsert per limit, in one fixed
 * order (customer, plan, customer's coupon use, coupon), so racing transactions queue instead of
 * deadlocking, and the popular coupon row is locked last, only until commit.
 */
export class OrderPlacement {
  /** The last placement of each (plan, upgrades, coupon) asked for: see {@link create}. */
  private readonly placements = new LRUCache<string, Placement>({ max: REMEMBERED_PLACEMENTS });

  constructor(private readonly deps: OrderPlacementDeps) {}

  /**
   * Creates a PENDING order as one unit of work. In order: the plan and upgrades are resolved as the
   * caller sees them (see {@link resolvePurchase}: NOT_FOUND, PLAN_NOT_AVAILABLE, BAD_USER_INPUT); the
   * coupon is judged (COUPON_INVALID with `extensions.rejection`); the amounts are computed and stored
   * with the order, which claims the idempotency key; then the guarded counters: the customer's unpaid
   * orders (UNPAID_ORDER_LIMIT), the plan's stock when it has one (OUT_OF_STOCK), the customer's uses of
   * the coupon, and last the coupon's uses; and the payment timeout job is asked for.
   *
   * Two statements: one read (the plan with the upgrades asked for, the caller's group, the coupon with
   * the caller's uses of it) and one write that places the order, takes every limit, asks for the
   * timeout job and returns the order as written (see {@link place}). The write is atomic on its own
   * (no BEGIN and COMMIT around it): a limit that refuses undoes all of it. The read takes no lock, so
   * it is the same inside a transaction or before one.
   *
   * The plan, upgrades and coupon an order was placed with are remembered (plain data, per instance):
   * the next order asking for the same is one statement, which re-checks them all as it writes (see
   * {@link place}) and is refused when any has changed since; the full path then reads them again.
   *
   * The same `idempotencyKey` from the same customer answers the first order, also when both requests
   * race: the order insert skips on the (customer, key) unique constraint, waiting for the first
   * transaction to settle, and the loser rolls back and reads the winner. The same key with another
   * plan, upgrades (compared as a set) or coupon (compared as normalised) is BAD_USER_INPUT, like a
   * reused Stripe idempotency key: answering the first order would hide the client's mistake.
   *
   * The order records what it took (`holds_*`) and the rates in force (`*_bps`), for
   * giving it back (order-release.ts) and the release of its escrow.
   */
  async create(em: EntityManager, caller: OrderCreator, input: CreateOrderInput): Promise<OrderSnapshot> {
    const key = input.idempotencyKey ?? null;
    if (key !== null) {
      const first = await this.findByKey(em, caller.customerId, key);
      if (first) return this.sameRequest(first, input);
    }
    const couponCode = input.couponCode == null ? null : this.deps.coupons.normaliseCode(input.couponCode, 'couponCode');
    const upgradeIds = input.upgradeIds ?? [];
    if (!checkPurchaseIds(input.planId, upgradeIds)) throw new NotFoundError('No such plan');
    const asked = [input.planId, ...upgradeIds].map((id) => id.toLowerCase()).join(' ') + (couponCode === null ? '' : ` ${couponKey(couponCode)}`);
    try {
      // What the last order asking for the same was placed with, re-checked by the write itself: one
      // statement. Any refusal (a limit, or the facts have changed) is answered by the full path below,
      // which says exactly why.
      const known = this.placements.get(asked);
      if (known) {
        const placed = await this.placeOnce(em, caller.customerId, known, key, true);
        if (placed) return placed;
        this.placements.delete(asked);
      }
      for (let attempt = 1; ; attempt++) {
        const placement = await this.readPlacement(em, caller, input.planId, upgradeIds, couponCode);
        const placed = await this.placeOnce(em, caller.customerId, placement, key, false).catch((e: unknown) => {
          if (e instanceof PlacementChanged && attempt < 3) return null;
          throw e;
        });
        if (placed) {
          this.placements.set(asked, placement);
          return placed;
        }
      }
    } catch (e) {
      if (e instanceof DuplicateRequest && key !== null) {
        const first = await this.findByKey(em, caller.customerId, key);
        if (first) return this.sameRequest(first, input);
      }
      throw e;
    }
  }

  /**
   * One read for a new order, before anything is written: the plan with the upgrades asked for, the
   * caller's group (read here, so it is never stale; a caller whose row has gone gets it back), and the
   * coupon with the caller's uses of it. Judges them as {@link create} says and prices the order.
   */
  private async readPlacement(em: EntityManager, caller: OrderCreator, planId: string, upgradeIds: readonly string[], couponCode: string | null): Promise<Placement> {
    const { config, plans, coupons } = this.deps;
    const [row] = await query<{ purchase: PurchaseRows | null; customer_group: string | null; coupon?: CouponRows | null }>(
      em,
      sql`select ${purchaseRead(planId, upgradeIds)} as purchase, ${customerGroupOf(caller.customerId)} as customer_group
                 ${couponCode === null ? rawSql('') : sql`, ${couponRead(couponCode, caller.customerId)} as coupon`}`,
      { prepared: true },
    );
    const group = row.customer_group ?? (await caller.restore()).group;
    const purchase = purchaseFrom(em, plans, { group, role: caller.role, customerId: caller.customerId }, row.purchase, upgradeIds);
    if (couponCode === null) return { purchase: purchaseFacts(purchase), coupon: null, price: this.checkedPrice(priceOrder(purchase.subtotal, null, config.taxRateBps)) };
    const verdict = coupons.judgeRead(em, row.coupon ?? null, purchase.plan.id, purchase.subtotal);
    if (verdict.rejection) throw this.couponInvalid(couponCode, verdict.rejection, verdict.coupon);
    return { purchase: purchaseFacts(purchase), coupon: couponFacts(verdict.coupon!), price: this.checkedPrice(verdict.price) };
  }

  private checkedPrice(price: PriceBreakdown): PriceBreakdown {
    if (price.total > MAX_ORDER_AMOUNT) throw BadUserInputError.field('upgradeIds', 'the order amount is too large');
    return price;
  }

  /**
   * Places the order (see {@link place}) and publishes it after commit. With `recheck`, a refusal of any
   * kind answers null (nothing was written) instead of its error.
   */
  private async placeOnce(em: EntityManager, customerId: string, placement: Placement, key: string | null, recheck: boolean): Promise<OrderSnapshot | null> {
    const after = new AfterCommit();
    let snapshot: OrderSnapshot;
    try {
      snapshot = await this.place(em, after, customerId, placement, key, recheck);
    } catch (e) {
      if (recheck && (e as { code?: string }).code === REFUSED_SQLSTATE) return null;
      throw await this.refusedBy(em, e, placement.coupon);
    }
    this.deps.events.afterCommit(after, snapshot);
    await after.run(() => undefined);
    return snapshot;
  }

  /**
   * Places the order in one statement, each step running only if the one before it passed, in the
   * order every path locks these rows: the order (its insert claims the idempotency key, waiting for a
   * racing request with the same key), one of the customer's unpaid slots, a unit of the plan's stock
   * when it has one, the customer's use of the coupon when it limits uses per customer, the payment
   * timeout job (an outbox row, so the statement does not NOTIFY), and last one of the coupon's use
   * stripes. It first checks that the plan, upgrades and coupon are still as `placement` says, on sale
   * to the customer and open (the first refusal when not: read again). With `recheck` (a placement
   * remembered from an earlier order), it takes the coupon's use from the connection's own stripe alone,
   * checking the coupon there instead (refused when that stripe is full or the coupon has changed; the
   * full path then reads it again and looks at every stripe: see {@link takeHomeCouponUse}). It ends by calling
   * `order_refuse` with the first refusal, if any, which undoes everything it wrote. Returns the order
   * as written.
   */
  private async place(em: EntityManager, after: AfterCommit, customerId: string, placement: Placement, key: string | null, recheck: boolean): Promise<OrderSnapshot> {
    const { config } = this.deps;
    const { purchase: plan, coupon, price } = placement;
    const { upgrades, limited } = plan;
    const refusals: Sql[] = [];
    const refuseUnless = (passed: Sql, refusal: Refusal) => refusals.push(sql`when not ${passed} then ${refusal}::text`);
    const steps = new Steps();
    // What the order is placed with was read by an earlier statement (or an earlier order): it must
    // still hold, as this statement sees the rows, or nothing is written. From memory, the coupon is
    // checked where its use is taken (see takeHomeCouponUse), in the one row of it the order writes.
    const purchase = purchaseStill(plan, customerGroupOf(customerId));
    const still = coupon && !recheck ? sql`${purchase} and ${couponStill(coupon)}` : purchase;
    steps.add('still', sql`select where ${still}`);
    refuseUnless(steps.after(), Refusal.CHANGED);
    steps.add(
      'placed',
      sql`insert into "order" (id, number, customer_id, plan_id, upgrade_ids, coupon_id, coupon_code, currency,
                               subtotal, discount, tax, total, status, expires_at, version, idempotency_key,
                               holds_unpaid_slot, holds_stock, holds_coupon_use, tax_rate_bps, platform_fee_bps, profit_tax_bps,
                               actor, plan_name, plan_price, upgrades)
          values (uuid_v7(), ${NEXT_ORDER_NUMBER}, ${customerId}, ${plan.planId}::uuid, ${textArray(upgrades.map((u) => u.id))}::text[],
                  ${coupon?.id ?? null}::uuid, ${coupon?.code ?? null}, ${config.currency},
                  ${price.subtotal}::int, ${price.discount}::int, ${price.tax}::int, ${price.total}::int, ${OrderStatus.PENDING},
                  now() + make_interval(secs => ${config.orderPaymentTimeoutSeconds}::double precision), 1, ${key},
                  true, ${limited}, ${coupon !== null},
                  ${config.taxRateBps}::int, ${config.platformFeeBps}::int, ${config.profitTaxBps}::int,
                  ${customerId}, ${plan.name}, ${plan.price}::int, ${JSON.stringify(upgrades.map((u) => ({ id: u.id, name: u.name, price: u.price })))}::jsonb)
          on conflict (customer_id, idempotency_key) where idempotency_key is not null do nothing
          returning *`,
    );
    // The holds are written as taken: a limit that refuses undoes the whole statement. What was bought
    // is stored as it is now (name, price, upgrades): later edits of the plan leave the order alone.
    steps.add('slot', takeUnpaidSlot(customerId, config.maxUnpaidOrders, sql`${steps.after()} and exists (select from still)`));
    refuseUnless(steps.after(), Refusal.UNPAID_ORDER_LIMIT);
    if (limited) {
      steps.add('stock', takeStockUnit(plan.planId, steps.after()));
      refuseUnless(steps.after(), Refusal.OUT_OF_STOCK);
      refuseUnless(sql`(select limited from stock)`, Refusal.PLAN_MADE_UNLIMITED);
    }
    const customerUse = coupon && takeCustomerUse(coupon, customerId, steps.after());
    if (customerUse) {
      steps.add('customer_coupon_use', customerUse);
      refuseUnless(steps.after(), Refusal.PER_USER_LIMIT_REACHED);
    }
    steps.add('timeout_job', orderTimeoutJobs(sql`placed`, steps.after()));
    if (coupon) {
      steps.add('coupon_use_taken', recheck ? takeHomeCouponUse(coupon, steps.after()) : takeCouponUse(coupon.id, steps.after()));
      refuseUnless(steps.after(), Refusal.COUPON_USE_REFUSED);
    }
    // The refusals are checked in turn, each reading its step: that is the order the steps run in.
    const refused = sql`order_refuse(case ${joinSql(refusals, ' ')} end)`;
    const rows = await query<PlacedRow>(em, steps.then(sql`select row_to_json(placed) as placed, ${refused} as accepted from placed`), { prepared: true });
    if (rows.length === 0) throw new DuplicateRequest();
    if (limited) this.deps.plans.catalogueChanged(after, plan.planId);
    return snapshotFromRows(rows[0].placed, null, plan.providerId);
  }

  /** The error to answer for what the statement placing an order was refused by (`e` itself when it was not a refusal). */
  private async refusedBy(em: EntityManager, e: unknown, coupon: CouponFacts | null): Promise<unknown> {
    const { code, detail } = e as { code?: string; detail?: string };
    if (code !== REFUSED_SQLSTATE) return e;
    const { maxUnpaidOrders } = this.deps.config;
    switch (detail as Refusal) {
      case Refusal.UNPAID_ORDER_LIMIT:
        return new UnpaidOrderLimitError(`You already hold ${maxUnpaidOrders} unpaid orders; pay or cancel one first`, { limit: maxUnpaidOrders });
      case Refusal.OUT_OF_STOCK:
        return new OutOfStockError();
      case Refusal.PLAN_MADE_UNLIMITED:
      case Refusal.CHANGED:
        return new PlacementChanged();
      case Refusal.PER_USER_LIMIT_REACHED:
        return this.couponInvalid(coupon!.code, CouponRejection.PER_USER_LIMIT_REACHED, coupon);
      case Refusal.COUPON_USE_REFUSED:
        return this.couponInvalid(coupon!.code, await this.deps.coupons.refusal(em, coupon!.id), coupon);
      default:
        return e;
    }
  }

  private couponInvalid(code: string, rejection: CouponRejection, coupon: CouponShown | null = null): CouponInvalidError {
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
}
