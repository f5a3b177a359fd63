import { CONNECTION_SLOT_SETTING } from '../../infra/orm';
import { rawSql, sql, textArray, type Sql } from '../../shared/sql';
import { couponKey, usedCountOf, type Coupon, type CouponKind } from './coupon.entity';

/*
 * The uses a coupon's limits count, as steps another module's statement runs (a CTE each), so an order
 * takes or gives back its use in the statement that makes or ends it:
 * - `coupon_customer_use.used`, one customer's live uses, checked against `max_uses_per_user` (only
 *   counted for a coupon that has that limit); the row is the customer's own, so it never contends
 *   across customers;
 * - `coupon_use.used`, all live uses in up to 16 stripes per coupon, each checked against its share of
 *   `max_uses` (`quota`): an order takes its use from any stripe with room, one that no other
 *   transaction holds if there is one, so orders of a popular coupon do not queue on one row, and a
 *   use is refused only when every stripe is full (`max_uses` stays exact).
 *
 * Finding a free stripe (a random order, row locks skipping the held ones, a fallback) made the
 * statement placing an order with a coupon a good deal dearer for PostgreSQL than the one without
 * (pgbench of the two: 0.70 of the transactions per second), and a search kept in the statement but
 * skipped cost nearly as much as one run: the dearer part is setting up that part of the plan on every
 * execution. So an order placed again from what an earlier one was placed with takes its use from its
 * connection's own stripe instead ({@link takeHomeCouponUse}), a plain guarded update, and only an
 * order refused there looks further. That update also checks that the coupon is unchanged since, by the
 * coupon's revision the stripe carries, so such an order reads no other row of the coupon.
 */

/**
 * The connection's own number, which picks its stripe: its slot among the instance's connections
 * (src/infra/orm.ts), or, on a connection without one, its backend's process id.
 */
const CONNECTION_STRIPE = `coalesce(nullif(current_setting('${CONNECTION_SLOT_SETTING}', true), '')::int, pg_backend_pid())`;

/** Most stripes a coupon's uses are counted in: as `coupon_use_stripes` (migrations) cuts them. */
const MAX_STRIPES = 16;

/** What {@link couponRead} reads: the coupon's row (with `used_count`) and the customer's live uses of it, as JSON. */
export interface CouponRows {
  coupon: Record<string, unknown>;
  used_by_customer: number | null;
}

/**
 * The read of the coupon `code` names (ignoring case and surrounding spaces) with `customerId`'s live
 * uses of it, as one column of another module's statement ({@link CouponRows}; null when no coupon has
 * the code).
 */
export function couponRead(code: string, customerId: string): Sql {
  return sql`(select json_build_object('coupon', to_jsonb(c) || jsonb_build_object('used_count', ${rawSql(usedCountOf('c'))}),
                'used_by_customer', (select used from coupon_customer_use where coupon_id = c.id and customer_id = ${customerId}))
              from coupon c where c.code_key = ${couponKey(code)})`;
}

/**
 * What an order with a coupon is priced and written from, as plain data (no entity), so it can be kept
 * between requests: see {@link couponStill}.
 */
export interface CouponFacts {
  id: string;
  code: string;
  kind: CouponKind;
  value: number;
  minAmount: number | null;
  planIds: readonly string[];
  maxUsesPerUser: number | null;
  /** For the sentence of a refusal (the steps check the window by the database clock). */
  startsAt: Date | null;
  endsAt: Date | null;
  /** How many stripes count its uses (fixed when it was made, as `max_uses` is). */
  stripes: number;
  /** The coupon's revision these facts were read at ({@link Coupon.revision}). */
  revision: number;
}

/** The {@link CouponFacts} of a coupon. */
export function couponFacts(c: Coupon): CouponFacts {
  const { id, code, kind, value, minAmount, maxUsesPerUser, startsAt, endsAt, revision } = c;
  const stripes = Math.min(MAX_STRIPES, c.maxUses ?? MAX_STRIPES);
  return { id, code, kind, value, minAmount, planIds: [...c.planIds], maxUsesPerUser, startsAt, endsAt, stripes, revision };
}

/** The coupon aliased `c` enabled and inside its window by the database clock. */
const COUPON_OPEN = `c.enabled and (c.starts_at is null or c.starts_at <= now()) and (c.ends_at is null or c.ends_at > now())`;

/** The coupon aliased `c` as `facts` say it is. */
function factsHold(facts: CouponFacts): Sql {
  return sql`c.id = ${facts.id}::uuid and c.code = ${facts.code} and c.kind = ${facts.kind} and c.value = ${facts.value}::int
             and c.min_amount is not distinct from ${facts.minAmount}::int and c.plan_ids = ${textArray(facts.planIds)}::text[]
             and c.max_uses_per_user is not distinct from ${facts.maxUsesPerUser}::int`;
}

/**
 * A condition (for another module's statement) that holds while `facts` are still true of the coupon
 * (what prices an order and the rules that do not depend on uses) and the coupon is enabled and inside
 * its window by the database clock, in one look at its row: checked with {@link takeCouponUse}, which
 * checks only the window and `enabled` itself.
 */
export function couponStill(facts: CouponFacts): Sql {
  return sql`exists (select from coupon c where ${factsHold(facts)} and ${rawSql(COUPON_OPEN)})`;
}

/**
 * Takes one of `customerId`'s uses of the coupon when `condition` holds (which also orders this step
 * after the one it names): a guarded upsert that refuses to pass `maxUsesPerUser`. Returns a row when
 * taken, none at the customer's limit.
 *
 * Null for a coupon without a per-customer limit: no rule reads its customers' uses (a coupon's limits
 * are fixed when it is created), so an order of it takes no step and writes no row for its customer;
 * giving back finds none to give back.
 */
export function takeCustomerUse(coupon: { id: string; maxUsesPerUser: number | null }, customerId: string, condition: Sql): Sql | null {
  if (coupon.maxUsesPerUser === null) return null;
  return sql`insert into coupon_customer_use (coupon_id, customer_id, used)
             select ${coupon.id}::uuid, ${customerId}, 1 where ${condition}
             on conflict (coupon_id, customer_id) do update set used = coupon_customer_use.used + 1
              where coupon_customer_use.used < ${coupon.maxUsesPerUser}::int
             returning used`;
}

/**
 * The stripe of coupon `couponId` (an expression) one use is taken from: of the stripes
 * `fits`, one no other transaction holds (picked at random, so takers spread), or else the first,
 * waiting for its holder. Either is locked here and re-checked against `fits` once its holder is done,
 * the next one tried when it no longer fits; null when none fits.
 */
function pickStripe(couponId: Sql, fits: Sql): Sql {
  return sql`coalesce(
      (select stripe from coupon_use where coupon_id = ${couponId} and ${fits} order by random() limit 1 for update skip locked),
      (select stripe from coupon_use where coupon_id = ${couponId} and ${fits} order by stripe limit 1 for update))`;
}

/**
 * Takes one use of the coupon when `condition` holds and the coupon is enabled and inside its window by
 * the database clock. Returns a row when taken, none when refused (see {@link CouponService.refusal}
 * for why). The stripe is the last row the order locks.
 */
export function takeCouponUse(couponId: string, condition: Sql): Sql {
  const id = sql`${couponId}::uuid`;
  const usable = sql`${condition} and exists (select from coupon c where c.id = ${id} and ${rawSql(COUPON_OPEN)})`;
  return sql`update coupon_use u set used = u.used + 1
               from (select ${pickStripe(id, sql`(quota is null or used < quota) and ${usable}`)} as stripe) pick
              where u.coupon_id = ${id} and u.stripe = pick.stripe and (u.quota is null or u.used < u.quota)
             returning u.used`;
}

/**
 * Takes one use of the coupon `facts` name from the stripe of the connection the statement runs on,
 * when `condition` holds and the coupon is still as `facts` say: one guarded update, no search.
 * Returns a row when taken, none when that stripe is full or the coupon has changed, and then only:
 * the caller answers that by reading the coupon again and {@link takeCouponUse}, which looks at every
 * stripe, so `max_uses` is refused only when all are full. Each connection keeps to one stripe, so the
 * orders of one instance's connections take different rows (up to as many connections as stripes);
 * two that share one wait for each other's commit, no longer.
 *
 * Only for `facts` an order was already placed with (their window had begun then, and a coupon of the
 * same revision still has that window): the stripe's copy of the coupon's revision stands for every
 * fact and `enabled`, so what is left to check is that the window has not ended since, by the
 * database clock. `endsAt` is read to the millisecond and the database keeps microseconds: an order in
 * the coupon's last millisecond is refused here and decided by the full path.
 */
export function takeHomeCouponUse(facts: CouponFacts, condition: Sql): Sql {
  const notEnded = facts.endsAt === null ? rawSql('') : sql`and now() < ${facts.endsAt}::timestamptz`;
  return sql`update coupon_use u set used = u.used + 1
              where u.coupon_id = ${facts.id}::uuid and u.stripe = ${rawSql(CONNECTION_STRIPE)} % ${Math.max(1, facts.stripes)}::int
                and u.coupon_revision = ${facts.revision}::int ${notEnded}
                and (u.quota is null or u.used < u.quota) and ${condition}
             returning u.used`;
}

/**
 * Gives back the uses `uses` (a subquery of `coupon_id, customer_id`, one row per order that held a
 * use) names: the customer's, then the coupon's. Two steps, never below zero. The coupon's is
 * `coupon_use_give_back` (migrations/Migration20261206120000_CouponGiveBackFromNow.ts): it finds the
 * stripe to take the use from as the stripes stand when the step runs, not as the statement first read
 * them, since the statement may have waited for a lock meanwhile while other orders gave uses back.
 */
export function giveBackCouponUses(uses: Sql): { customerUses: Sql; couponUses: Sql } {
  return {
    customerUses: sql`update coupon_customer_use set used = used - 1
                       where (coupon_id, customer_id) in (${uses}) and used > 0
                      returning coupon_id`,
    couponUses: sql`select g.coupon_id from (${uses}) g where coupon_use_give_back(g.coupon_id)`,
  };
}
