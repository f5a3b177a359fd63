import { Migration } from '@mikro-orm/migrations';

export class Migration20261123111431_Initial extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "customer" ("id" varchar(64) not null, "customer_group" varchar(64) not null default 'default', "role" text check ("role" in ('customer', 'provider', 'admin')) not null, "unpaid_orders" int not null default 0, "created_at" timestamptz not null default now(), constraint "customer_pkey" primary key ("id"), constraint customer_unpaid_orders_check check (unpaid_orders >= 0));`);

    this.addSql(`create table "plan" ("id" uuid not null, "name" varchar(200) not null, "description" text null, "price" int not null, "duration_days" int null, "sale_status" text check ("sale_status" in ('ON_SALE', 'HIDDEN', 'RETIRED')) not null default 'ON_SALE', "groups" text[] not null default '{}', "stock" int null, "stock_used" int not null default 0, "provider_id" varchar(64) null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), constraint "plan_pkey" primary key ("id"), constraint plan_stock_used_check check (stock_used >= 0), constraint plan_stock_check check (stock is null or stock >= 0), constraint plan_price_check check (price >= 0));`);
    this.addSql(`create index "plan_sale_status_idx" on "plan" ("sale_status");`);

    this.addSql(`create table "plan_upgrade" ("id" uuid not null, "plan_id" uuid not null, "name" varchar(200) not null, "price" int not null, "position" int not null, constraint "plan_upgrade_pkey" primary key ("id"), constraint plan_upgrade_price_check check (price >= 0));`);
    this.addSql(`create index "plan_upgrade_plan_idx" on "plan_upgrade" ("plan_id", "position");`);

    this.addSql(`alter table "plan" add constraint "plan_provider_id_foreign" foreign key ("provider_id") references "customer" ("id") on update cascade on delete restrict;`);

    this.addSql(`alter table "plan_upgrade" add constraint "plan_upgrade_plan_id_foreign" foreign key ("plan_id") references "plan" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "plan" drop constraint "plan_provider_id_foreign";`);

    this.addSql(`alter table "plan_upgrade" drop constraint "plan_upgrade_plan_id_foreign";`);

    this.addSql(`drop table if exists "customer" cascade;`);

    this.addSql(`drop table if exists "plan" cascade;`);

    this.addSql(`drop table if exists "plan_upgrade" cascade;`);
  }

}
