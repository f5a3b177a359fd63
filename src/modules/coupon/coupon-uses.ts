import { sql, type Sql } from '../../shared/sql';
import { couponKey } from './coupon.entity';

/*
 * The uses a coupon's limits count, as steps another module's statement runs (a CTE each), so an order
 * takes or gives back its use in the statement that makes or ends it:
 * - `coupon_customer_use.used`, one customer's live uses, checked against `max_uses_per_user`; the row
 *   is the customer's own, so it never contends across customers;
 * - `coupon.used_count`, all live uses, checked against `max_uses`: the one row every order of a popular
 *   coupon updates, so it is taken last, its lock held only until commit.
 */

/** What {@link couponRead} reads: the coupon's row and the customer's live uses of it, as JSON. */
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
  return sql`(select json_build_object('coupon', row_to_json(c), 'used_by_customer',
                (select used from coupon_customer_use where coupon_id = c.id and customer_id = ${customerId}))
              from coupon c where c.code_key = ${couponKey(code)})`;
}

/**
 * Takes one of `customerId`'s uses of the coupon when `condition` holds (which also orders this step
 * after the one it names): a guarded upsert that refuses to pass `maxUsesPerUser`. Returns a row when
 * taken, none at the customer's limit.
 */
export function takeCustomerUse(coupon: { id: string; maxUsesPerUser: number | null }, customerId: string, condition: Sql): Sql {
  return sql`insert into coupon_customer_use (coupon_id, customer_id, used)
             select ${coupon.id}::uuid, ${customerId}, 1 where ${condition}
             on conflict (coupon_id, customer_id) do update set used = coupon_customer_use.used + 1
              where ${coupon.maxUsesPerUser}::int is null or coupon_customer_use.used < ${coupon.maxUsesPerUser}::int
             returning used`;
}

/**
 * Takes one use of the coupon when `condition` holds: a guarded update that also re-checks `enabled` and
 * the window against the database clock. Run it as the last step of the transaction: the row is shared
 * by everyone using the code. Returns a row when taken, none when refused (see
 * {@link CouponService.refusal} for why).
 */
export function takeCouponUse(couponId: string, condition: Sql): Sql {
  return sql`update coupon set used_count = used_count + 1
              where id = ${couponId}::uuid and enabled
                and (starts_at is null or starts_at <= now()) and (ends_at is null or ends_at > now())
                and (max_uses is null or used_count < max_uses) and ${condition}
             returning used_count`;
}

/**
 * Gives back the uses `uses` (a subquery of `coupon_id, customer_id`, one row per order that held a
 * use) names: the customer's, then the coupon's (the shared row last). Two steps, never below zero.
 */
export function giveBackCouponUses(uses: Sql): { customerUses: Sql; couponUses: Sql } {
  return {
    customerUses: sql`update coupon_customer_use set used = used - 1
                       where (coupon_id, customer_id) in (${uses}) and used > 0
                      returning coupon_id`,
    couponUses: sql`update coupon set used_count = used_count - 1
                     where id in (select coupon_id from (${uses}) u) and used_count > 0
                    returning id`,
  };
}
