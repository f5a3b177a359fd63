import { Migration } from '@mikro-orm/migrations';

/**
 * Giving a coupon use back (a cancel, a payment timeout, a refund) looks for a stripe with a use in it
 * as the stripes stand when it gets there, not as they stood when its statement began. The statement
 * that ends an order may wait (for the order's customer, its plan, a stripe) after it has read the
 * stripes; if meanwhile another order's give-back took a use from the one stripe that statement saw
 * with a use, the stripe now counting this order's use was one it saw empty, and nothing was given
 * back: the coupon lost a use for good. `coupon_use_give_back` tries again, each try a statement of its
 * own and so reading what has been committed since, until one stripe gives a use back, or none has a
 * use left to give (which the order's own use, counted in some stripe, rules out).
 */
export class Migration20261206120000_CouponGiveBackFromNow extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create function coupon_use_give_back(p_coupon uuid) returns boolean language plpgsql as $$
      begin
        loop
          -- A stripe no other transaction holds, picked at random so give-backs spread, else the first,
          -- waiting for its holder (and skipped if it has no use left once that holder is done).
          update coupon_use u set used = u.used - 1
           where u.coupon_id = p_coupon and u.used > 0
             and u.stripe = coalesce(
               (select stripe from coupon_use where coupon_id = p_coupon and used > 0 order by random() limit 1 for update skip locked),
               (select stripe from coupon_use where coupon_id = p_coupon and used > 0 order by stripe limit 1 for update));
          if found then
            return true;
          end if;
          if not exists (select from coupon_use where coupon_id = p_coupon and used > 0) then
            return false;
          end if;
        end loop;
      end $$;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop function if exists coupon_use_give_back(uuid);`);
  }
}
