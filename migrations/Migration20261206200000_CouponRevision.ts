import { Migration } from '@mikro-orm/migrations';

/**
 * A coupon's `revision`, raised by the database on every change of its row and copied to its use
 * stripes (`coupon_use.coupon_revision`). An order placed again from what an earlier order of the same
 * coupon was placed with (src/modules/order/order-placement.ts) then checks that the coupon is still
 * as it was in the stripe row it takes its use from, instead of also looking the coupon up: one row of
 * the coupon per order instead of two. Both are triggers, so every path that changes a coupon (the
 * API, a back-office script, a hand-written UPDATE) raises it; the stripes' copy is written in the
 * same transaction as the change, under the stripes' row locks, so an order that takes a use after the
 * change commits sees the new revision.
 */
export class Migration20261206200000_CouponRevision extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table coupon add column revision int not null default 1;`);
    this.addSql(`alter table coupon_use add column coupon_revision int not null default 1;`);
    this.addSql(`
      create function coupon_revised() returns trigger language plpgsql as $$
      begin
        new.revision := old.revision + 1;
        return new;
      end $$;`);
    this.addSql(`create trigger coupon_revised before update on coupon for each row when (old.* is distinct from new.*) execute function coupon_revised();`);
    this.addSql(`
      create function coupon_revision_to_stripes() returns trigger language plpgsql as $$
      begin
        update coupon_use set coupon_revision = new.revision where coupon_id = new.id;
        return null;
      end $$;`);
    this.addSql(`
      create trigger coupon_revision_to_stripes after update on coupon for each row
        when (old.revision is distinct from new.revision) execute function coupon_revision_to_stripes();`);
    // A coupon inserted with a revision of its own gives it to the stripes it is made with.
    this.addSql(`
      create or replace function coupon_made() returns trigger language plpgsql as $$
      begin
        perform coupon_use_stripes(new.id, new.max_uses, 0);
        update coupon_use set coupon_revision = new.revision where coupon_id = new.id and coupon_revision <> new.revision;
        return null;
      end;
      $$;`);
  }

  override async down(): Promise<void> {
    this.addSql(`
      create or replace function coupon_made() returns trigger language plpgsql as $$
      begin
        perform coupon_use_stripes(new.id, new.max_uses, 0);
        return null;
      end;
      $$;`);
    this.addSql(`drop trigger if exists coupon_revision_to_stripes on coupon;`);
    this.addSql(`drop trigger if exists coupon_revised on coupon;`);
    this.addSql(`drop function if exists coupon_revision_to_stripes();`);
    this.addSql(`drop function if exists coupon_revised();`);
    this.addSql(`alter table coupon_use drop column coupon_revision;`);
    this.addSql(`alter table coupon drop column revision;`);
  }
}
