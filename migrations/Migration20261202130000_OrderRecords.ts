import { Migration } from '@mikro-orm/migrations';

/** `order_take_actor` as this migration defines it (later migrations edit it: see ./edited.ts). */
export const ORDER_TAKE_ACTOR_V1 = `
      create or replace function order_take_actor() returns trigger language plpgsql as $$
      begin
        if tg_op = 'INSERT' then
          new.last_actor := coalesce(new.actor, new.customer_id);
        elsif new.version is distinct from old.version then
          if new.actor is null then
            raise exception 'order % changed (version % to %) without naming who changed it (set "actor")', new.id, old.version, new.version using errcode = '23502';
          end if;
          new.last_actor := new.actor;
        end if;
        new.actor := null;
        return new;
      end $$;`;

/**
 * The order as a record:
 *
 * - `order_event`: one row per committed change of an order (its version), written by triggers on
 *   "order", so no path can forget it: an insert writes version 1 (a statement trigger, cheap for bulk
 *   inserts), and an update that changes `version` writes that version at commit (a deferred constraint
 *   trigger, so the delivery status it records is the one the transaction ends with, whichever of the
 *   order and the delivery was written first). Rows are never changed or deleted.
 * - `order.actor`: who makes the change the statement writes. A versioned update must name it (else it
 *   is refused); a trigger moves it to `order.last_actor`, which the history row takes, and clears it,
 *   so a later change cannot inherit an earlier one's actor. An insert without one is its customer's.
 * - `order.plan_name`, `plan_price`, `upgrades`: what was bought, as it was when the order was made.
 *   Existing orders get their plan's and upgrades' current names and prices (the plan's price as the
 *   subtotal less the upgrades, so the lines add up to the subtotal).
 * - `payment.journal_id`, `refund.journal_id`: the ledger journal of a wallet payment or refund.
 * - `receipt`: issued in the payment's transaction, numbered from `receipt_number_seq`; never changed.
 *
 * Existing orders get a version-1 history row, and one for their current version when it is above 1
 * (actor `system:migration`: the changes between were not recorded).
 */
export class Migration20261202130000_OrderRecords extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "order"
      add column "actor" varchar(80) null,
      add column "last_actor" varchar(80) null,
      add column "plan_name" varchar(200) null,
      add column "plan_price" int null,
      add column "upgrades" jsonb not null default '[]';`);
    this.addSql(`update "order" o set
        upgrades = coalesce((select jsonb_agg(jsonb_build_object('id', u.id, 'name', u.name, 'price', u.price) order by t.ord)
                               from unnest(o.upgrade_ids) with ordinality as t(uid, ord) join plan_upgrade u on u.id::text = t.uid), '[]'::jsonb),
        plan_name = p.name,
        last_actor = o.customer_id
      from plan p where p.id = o.plan_id;`);
    this.addSql(`update "order" o set plan_price = greatest(0, o.subtotal - coalesce((select sum((u->>'price')::int) from jsonb_array_elements(o.upgrades) u), 0));`);

    this.addSql(
      `create table "order_event" ("order_id" uuid not null, "version" int not null, "at" timestamptz not null default now(), "status" text check ("status" in ('PENDING', 'PAID', 'DELIVERED', 'CANCELLED', 'REFUNDED')) not null, "delivery_status" text check ("delivery_status" in ('NEW', 'IN_PROGRESS', 'REVIEWING', 'COMPLETED', 'FAILED', 'CANCELLED')) null, "actor" varchar(80) not null, constraint "order_event_pkey" primary key ("order_id", "version"));`,
    );
    this.addSql(`insert into order_event (order_id, version, at, status, delivery_status, actor)
      select id, 1, created_at, case when version = 1 then status else 'PENDING' end, null, customer_id from "order"
      union all
      select o.id, o.version, coalesce(greatest(o.paid_at, o.cancelled_at, o.delivered_at, d.updated_at), o.created_at), o.status, d.status, 'system:migration'
        from "order" o left join delivery d on d.order_id = o.id where o.version > 1;`);

    this.addSql(ORDER_TAKE_ACTOR_V1);
    this.addSql(`create trigger order_take_actor_insert before insert on "order" for each row execute function order_take_actor();`);
    this.addSql(`
      create trigger order_take_actor_update before update on "order" for each row
        when (old.version is distinct from new.version or new.actor is not null) execute function order_take_actor();`);

    this.addSql(`
      create or replace function order_history_created() returns trigger language plpgsql as $$
      begin
        insert into order_event (order_id, version, at, status, delivery_status, actor)
        select n.id, n.version, n.created_at, n.status, null, n.last_actor from created n;
        return null;
      end $$;`);
    this.addSql(`
      create trigger order_history_created after insert on "order" referencing new table as created
        for each statement execute function order_history_created();`);
    this.addSql(`
      create or replace function order_history_changed() returns trigger language plpgsql as $$
      begin
        insert into order_event (order_id, version, at, status, delivery_status, actor)
        values (new.id, new.version, now(), new.status, (select d.status from delivery d where d.order_id = new.id), new.last_actor);
        return null;
      end $$;`);
    this.addSql(`
      create constraint trigger order_history_changed after update on "order" deferrable initially deferred
        for each row when (old.version is distinct from new.version) execute function order_history_changed();`);

    this.addSql(`
      create or replace function order_record_immutable() returns trigger language plpgsql as $$
      begin
        raise exception '% rows are never changed or deleted', tg_table_name using errcode = '55000';
      end $$;`);
    this.addSql(`create trigger order_event_immutable before update or delete on order_event for each row execute function order_record_immutable();`);

    this.addSql(`alter table "payment" add column "journal_id" uuid null;`);
    this.addSql(`alter table "refund" add column "journal_id" uuid null;`);
    this.addSql(`update payment p set journal_id = (select l.journal_id from ledger_entry l where l.order_id = p.order_id and l.kind = 'PAYMENT' and l.account = 'ESCROW' limit 1) where p.method = 'WALLET';`);
    this.addSql(`update refund r set journal_id = (select l.journal_id from ledger_entry l where l.order_id = r.order_id and l.kind = 'REFUND' and l.account = 'ESCROW' limit 1)
      from payment p where p.id = r.payment_id and p.method = 'WALLET';`);

    this.addSql(`create sequence if not exists "receipt_number_seq" start 1;`);
    this.addSql(
      `create table "receipt" ("order_id" uuid not null, "number" varchar(32) not null, "issued_at" timestamptz not null default now(), "currency" varchar(3) not null, "lines" jsonb not null, "subtotal" int not null, "discount" int not null, "tax" int not null, "total" int not null, constraint "receipt_pkey" primary key ("order_id"));`,
    );
    this.addSql(`alter table "receipt" add constraint "receipt_number_unique" unique ("number");`);
    this.addSql(`create trigger receipt_immutable before update or delete on receipt for each row execute function order_record_immutable();`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "receipt" cascade;`);
    this.addSql(`drop sequence if exists "receipt_number_seq";`);
    this.addSql(`alter table "refund" drop column "journal_id";`);
    this.addSql(`alter table "payment" drop column "journal_id";`);
    this.addSql(`drop trigger if exists order_history_changed on "order";`);
    this.addSql(`drop trigger if exists order_history_created on "order";`);
    this.addSql(`drop trigger if exists order_take_actor_update on "order";`);
    this.addSql(`drop trigger if exists order_take_actor_insert on "order";`);
    this.addSql(`drop table if exists "order_event" cascade;`);
    this.addSql(`drop function if exists order_record_immutable();`);
    this.addSql(`drop function if exists order_history_changed();`);
    this.addSql(`drop function if exists order_history_created();`);
    this.addSql(`drop function if exists order_take_actor();`);
    this.addSql(`alter table "order" drop column "actor", drop column "last_actor", drop column "plan_name", drop column "plan_price", drop column "upgrades";`);
  }
}
