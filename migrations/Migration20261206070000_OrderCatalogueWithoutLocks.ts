import { Migration } from '@mikro-orm/migrations';
import { ORDER_TAKE_ACTOR_V1 } from './Migration20261202130000_OrderRecords';
import { edited } from './edited';

/** Refuses an order row whose plan or coupon does not exist (PL/pgSQL, inside a trigger on "order"). */
const CATALOGUE_CHECK = `
          if not exists (select from plan where id = new.plan_id)
             or (new.coupon_id is not null and not exists (select from coupon where id = new.coupon_id)) then
            raise exception 'order % refers to a plan or coupon that does not exist', new.id using errcode = '23503';
          end if;`;

/** `order_take_actor` (Migration20261202130000_OrderRecords) with {@link CATALOGUE_CHECK} first for a new row. */
const TAKE_ACTOR_CHECKING_CATALOGUE = edited(ORDER_TAKE_ACTOR_V1, [["if tg_op = 'INSERT' then", `if tg_op = 'INSERT' then${CATALOGUE_CHECK}`]]);

/**
 * An order's plan and coupon stop being foreign keys, and what those keys guaranteed is kept by the
 * database another way. A foreign key checks its referenced row with a KEY SHARE lock, so every order
 * of one plan, and every order with one coupon, locked that one row in the statement that placed it;
 * orders placed side by side shared the lock, each sharing made the row's locker a new MultiXact
 * (pgbench of the statement placing orders with one coupon: 5,223 MultiXacts for 5,000 orders) and
 * rewrote the row's header (and logged it), one hot row per popular plan and coupon on the path that
 * places orders. Without the keys that statement makes no MultiXact; run by pgbench side by side with
 * a copy of the database that has them (10 clients each, the machine's noise shared), it ran 1-3%
 * more transactions a second; the statement without a coupon about as many.
 *
 * Kept, with the cost on the rare side:
 * - an order's plan and coupon exist when it is written or changed: looked up without a lock (in the
 *   trigger that records who wrote the order, and by an update that changes them);
 * - a plan or coupon that an order refers to cannot be deleted (the keys' ON DELETE RESTRICT): a delete
 *   of plans or coupons first locks "order" in SHARE mode, so it waits for the transactions writing
 *   orders and no order can be written until it ends, then refuses when an order refers to a row it
 *   deletes; nothing that writes orders ever waits for that lock otherwise;
 * - a plan's or coupon's id never changes (the keys cascaded such a change; nothing makes one).
 */
export class Migration20261206070000_OrderCatalogueWithoutLocks extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "order" drop constraint "order_plan_id_foreign", drop constraint "order_coupon_id_foreign";`);
    // Checked where an order row is written anyway (the trigger that records who made it), by index
    // lookups that take no lock: a plan or coupon cannot be deleted while an order is being written.
    this.addSql(TAKE_ACTOR_CHECKING_CATALOGUE);
    this.addSql(`
      create function order_catalogue_changed() returns trigger language plpgsql as $$
      begin${CATALOGUE_CHECK}
        return new;
      end $$;`);
    this.addSql(`
      create trigger order_catalogue_changed before update of plan_id, coupon_id on "order" for each row
        when (old.plan_id is distinct from new.plan_id or old.coupon_id is distinct from new.coupon_id)
        execute function order_catalogue_changed();`);
    // Statement level: the lock is taken before any row is, so a delete never holds a plan's row while
    // it waits for an order transaction that goes on to update that row (its stock). The table to lock
    // is the trigger's argument: the delivery's provider (next migration) waits the same way.
    this.addSql(`
      create function delete_waits_for_writers() returns trigger language plpgsql as $$
      begin
        execute format('lock table %I in share mode', tg_argv[0]);
        return null;
      end $$;`);
    this.addSql(`
      create function catalogue_row_kept() returns trigger language plpgsql as $$
      begin
        if tg_op = 'UPDATE' then
          raise exception '% % cannot change its id: orders refer to plans and coupons by it', tg_table_name, old.id using errcode = '23503';
        end if;
        if (tg_table_name = 'plan' and exists (select from "order" where plan_id = old.id))
           or (tg_table_name = 'coupon' and exists (select from "order" where coupon_id = old.id)) then
          raise exception '% % cannot be deleted: orders refer to it (retire a plan or disable a coupon instead)', tg_table_name, old.id using errcode = '23503';
        end if;
        return old;
      end $$;`);
    for (const table of ['plan', 'coupon']) {
      this.addSql(`create trigger ${table}_delete_waits_for_orders before delete on "${table}" for each statement execute function delete_waits_for_writers('order');`);
      this.addSql(`create trigger ${table}_kept before delete on "${table}" for each row execute function catalogue_row_kept();`);
      this.addSql(`create trigger ${table}_id_fixed before update of id on "${table}" for each row when (old.id is distinct from new.id) execute function catalogue_row_kept();`);
    }
  }

  override async down(): Promise<void> {
    for (const table of ['plan', 'coupon']) {
      this.addSql(`drop trigger if exists ${table}_id_fixed on "${table}";`);
      this.addSql(`drop trigger if exists ${table}_kept on "${table}";`);
      this.addSql(`drop trigger if exists ${table}_delete_waits_for_orders on "${table}";`);
    }
    this.addSql(`drop function if exists catalogue_row_kept();`);
    this.addSql(`drop function if exists delete_waits_for_writers();`);
    this.addSql(`drop trigger if exists order_catalogue_changed on "order";`);
    this.addSql(`drop function if exists order_catalogue_changed();`);
    this.addSql(ORDER_TAKE_ACTOR_V1);
    this.addSql(`alter table "order" add constraint "order_plan_id_foreign" foreign key ("plan_id") references "plan" ("id") on update cascade on delete restrict;`);
    this.addSql(`alter table "order" add constraint "order_coupon_id_foreign" foreign key ("coupon_id") references "coupon" ("id") on update cascade on delete restrict;`);
  }
}
