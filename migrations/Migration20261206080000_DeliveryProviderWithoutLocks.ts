import { Migration } from '@mikro-orm/migrations';

/**
 * A delivery's provider stops being a foreign key, for the reason an order's plan and coupon did
 * (Migration20261206070000_OrderCatalogueWithoutLocks): the key checked the provider's customer row
 * with a KEY SHARE lock, so every payment of any of a provider's plans locked that one row, payments
 * side by side making it a new MultiXact each, a hot row on the payment path for every provider. What
 * the key guaranteed is kept, with the cost on the rare side:
 * - a delivery's provider exists when the delivery is written or its provider changed (checked only
 *   for a delivery that has one);
 * - a customer who is a delivery's provider is neither deleted nor given another id (the key's ON
 *   DELETE RESTRICT; it cascaded an id change, which nothing makes): a delete of customers first locks
 *   `delivery` in SHARE mode, so it waits for the transactions writing deliveries, and refuses a
 *   customer a delivery names.
 */
export class Migration20261206080000_DeliveryProviderWithoutLocks extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "delivery" drop constraint "delivery_provider_id_foreign";`);
    this.addSql(`
      create function delivery_provider_exists() returns trigger language plpgsql as $$
      begin
        if not exists (select from customer where id = new.provider_id) then
          raise exception 'delivery % names a provider that does not exist', new.id using errcode = '23503';
        end if;
        return new;
      end $$;`);
    this.addSql(`
      create trigger delivery_provider_exists before insert or update of provider_id on "delivery" for each row
        when (new.provider_id is not null) execute function delivery_provider_exists();`);
    this.addSql(`
      create function customer_provider_kept() returns trigger language plpgsql as $$
      begin
        if exists (select from delivery where provider_id = old.id) then
          raise exception 'customer % is the provider of deliveries and cannot be %', old.id,
            case tg_op when 'DELETE' then 'deleted' else 'given another id' end using errcode = '23503';
        end if;
        return case tg_op when 'DELETE' then old else new end;
      end $$;`);
    // Statement level, before any customer row is locked (delete_waits_for_writers: the migration before).
    this.addSql(`create trigger customer_delete_waits_for_deliveries before delete on "customer" for each statement execute function delete_waits_for_writers('delivery');`);
    this.addSql(`create trigger customer_provider_kept before delete on "customer" for each row execute function customer_provider_kept();`);
    this.addSql(`
      create trigger customer_provider_id_fixed before update of id on "customer" for each row
        when (old.id is distinct from new.id) execute function customer_provider_kept();`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists customer_provider_id_fixed on "customer";`);
    this.addSql(`drop trigger if exists customer_provider_kept on "customer";`);
    this.addSql(`drop trigger if exists customer_delete_waits_for_deliveries on "customer";`);
    this.addSql(`drop function if exists customer_provider_kept();`);
    this.addSql(`drop trigger if exists delivery_provider_exists on "delivery";`);
    this.addSql(`drop function if exists delivery_provider_exists();`);
    this.addSql(`alter table "delivery" add constraint "delivery_provider_id_foreign" foreign key ("provider_id") references "customer" ("id") on update cascade on delete restrict;`);
  }
}
