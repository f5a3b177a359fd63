import { Migration } from '@mikro-orm/migrations';

/**
 * A coupon's live uses are counted in stripes (`coupon_use`, up to 16 rows per coupon) instead of one
 * `coupon.used_count`: that row was updated by every order using the coupon and locked until the
 * order committed, so every order of a popular coupon waited for the one before it. An order takes one
 * use from any stripe with room (src/modules/coupon/coupon-uses.ts), so orders of one coupon commit
 * side by side.
 *
 * `max_uses` stays exact: it is split into the stripes' quotas (`quota`, summing to `max_uses`; null
 * when the coupon has no maximum), each stripe refuses to pass its quota (`used <= quota`), and a use is
 * refused only when every stripe is full. A coupon gets its stripes when it is inserted (a trigger, so
 * every path that makes a coupon makes them); `max_uses` cannot change afterwards (no API changes it; a
 * trigger refuses it, since the quotas were cut from it). The uses counted so far move into the stripes
 * (in stripe order, each up to its quota); `usedCount` is their sum.
 */
export class Migration20261202180000_CouponUseStripes extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table coupon_use (
        coupon_id uuid not null,
        stripe smallint not null,
        used int not null default 0,
        quota int null,
        constraint coupon_use_pkey primary key (coupon_id, stripe),
        constraint coupon_use_coupon_id_foreign foreign key (coupon_id) references coupon (id) on update cascade on delete cascade,
        constraint coupon_use_used_check check (used >= 0 and (quota is null or used <= quota))
      );`);
    // Stripe s of n gets max_uses / n, plus one for the first max_uses % n stripes.
    this.addSql(`
      create function coupon_use_stripes(p_coupon uuid, p_max_uses int, p_used int) returns void language sql as $$
        insert into coupon_use (coupon_id, stripe, quota, used)
        select p_coupon, s, q.quota,
               case when p_max_uses is null then case when s = 0 then p_used else 0 end
                    else least(q.quota, greatest(0, p_used - q.before)) end
          from (select least(16, coalesce(p_max_uses, 16)) as n) k
         cross join generate_series(0, k.n - 1) as s
         cross join lateral (select p_max_uses / k.n + (s < p_max_uses % k.n)::int as quota,
                                    s * (p_max_uses / k.n) + least(s, p_max_uses % k.n) as before) q;
      $$;`);
    this.addSql(`
      create function coupon_made() returns trigger language plpgsql as $$
      begin
        perform coupon_use_stripes(new.id, new.max_uses, 0);
        return null;
      end;
      $$;`);
    this.addSql(`create trigger coupon_made after insert on coupon for each row execute function coupon_made();`);
    this.addSql(`
      create function coupon_max_uses_fixed() returns trigger language plpgsql as $$
      begin
        raise exception 'coupon % max_uses cannot change (its uses are counted in stripes cut from it)', new.id using errcode = '23514';
      end;
      $$;`);
    this.addSql(`
      create trigger coupon_max_uses_fixed before update of max_uses on coupon for each row
        when (old.max_uses is distinct from new.max_uses) execute function coupon_max_uses_fixed();`);
    this.addSql(`select coupon_use_stripes(id, max_uses, used_count) from coupon;`);
    this.addSql(`alter table coupon drop constraint coupon_used_count_check;`);
    this.addSql(`alter table coupon drop column used_count;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table coupon add column used_count int not null default 0;`);
    this.addSql(`update coupon c set used_count = coalesce((select sum(used) from coupon_use u where u.coupon_id = c.id), 0);`);
    this.addSql(`alter table coupon add constraint coupon_used_count_check check (used_count >= 0 and (max_uses is null or used_count <= max_uses));`);
    this.addSql(`drop trigger if exists coupon_max_uses_fixed on coupon;`);
    this.addSql(`drop trigger if exists coupon_made on coupon;`);
    this.addSql(`drop function if exists coupon_max_uses_fixed();`);
    this.addSql(`drop function if exists coupon_made();`);
    this.addSql(`drop function if exists coupon_use_stripes(uuid, int, int);`);
    this.addSql(`drop table if exists coupon_use;`);
  }
}
