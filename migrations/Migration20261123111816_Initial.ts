import { Migration } from '@mikro-orm/migrations';

export class Migration20261123111816_Initial extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "checkout_session" ("id" varchar(255) not null, "order_id" uuid not null, "url" text not null, "amount" bigint not null, "currency" varchar(3) not null, "status" text check ("status" in ('OPEN', 'COMPLETED', 'EXPIRED')) not null default 'OPEN', "created_at" timestamptz not null default now(), constraint "checkout_session_pkey" primary key ("id"));`);
    this.addSql(`create unique index "checkout_session_open_order_unique" on "checkout_session" ("order_id") where "status" = 'OPEN';`);

    this.addSql(`create table "coupon" ("id" uuid not null, "code" varchar(64) not null, "code_key" varchar(64) not null, "kind" text check ("kind" in ('PERCENT', 'FIXED')) not null, "value" int not null, "starts_at" timestamptz null, "ends_at" timestamptz null, "max_uses" int null, "max_uses_per_user" int null, "min_amount" int null, "used_count" int not null default 0, "enabled" boolean not null default true, "plan_ids" text[] not null default '{}', "created_at" timestamptz not null default now(), constraint "coupon_pkey" primary key ("id"), constraint coupon_limits_check check ((max_uses is null or max_uses >= 1) and (max_uses_per_user is null or max_uses_per_user >= 1) and (min_amount is null or min_amount >= 0)), constraint coupon_window_check check (starts_at is null or ends_at is null or ends_at > starts_at), constraint coupon_used_count_check check (used_count >= 0 and (max_uses is null or used_count <= max_uses)), constraint coupon_value_check check (value > 0 and (kind <> 'PERCENT' or value <= 100)));`);
    this.addSql(`alter table "coupon" add constraint "coupon_code_key_unique" unique ("code_key");`);

    this.addSql(`create table "customer" ("id" varchar(64) not null, "customer_group" varchar(64) not null default 'default', "role" text check ("role" in ('customer', 'provider', 'admin')) not null, "unpaid_orders" int not null default 0, "created_at" timestamptz not null default now(), constraint "customer_pkey" primary key ("id"), constraint customer_unpaid_orders_check check (unpaid_orders >= 0));`);

    this.addSql(`create table "coupon_customer_use" ("coupon_id" uuid not null, "customer_id" varchar(64) not null, "used" int not null default 0, constraint "coupon_customer_use_pkey" primary key ("coupon_id", "customer_id"), constraint coupon_customer_use_used_check check (used >= 0));`);

    this.addSql(`create table "gateway_charge" ("session_id" varchar(255) not null, "order_id" uuid null, "payment_intent" varchar(255) null, "amount" bigint not null, "currency" varchar(3) not null, "outcome" text check ("outcome" in ('APPLIED', 'REFUNDED', 'MISMATCH')) not null, "refund_ref" varchar(255) null, "created_at" timestamptz not null default now(), constraint "gateway_charge_pkey" primary key ("session_id"));`);

    this.addSql(`create table "gateway_event" ("id" varchar(255) not null, "type" varchar(100) not null, "received_at" timestamptz not null default now(), constraint "gateway_event_pkey" primary key ("id"));`);

    this.addSql(`create table "ledger_entry" ("id" uuid not null, "journal_id" uuid not null, "account" text check ("account" in ('WALLET', 'ESCROW', 'TAX', 'PROFIT', 'GATEWAY_CLEARING', 'FUNDING')) not null, "customer_id" varchar(64) null, "order_id" uuid null, "amount" bigint not null, "kind" text check ("kind" in ('CREDIT', 'PAYMENT', 'REFUND', 'RELEASE', 'PAYOUT')) not null, "actor" varchar(80) null, "created_at" timestamptz not null default now(), constraint "ledger_entry_pkey" primary key ("id"), constraint ledger_entry_amount_check check (amount <> 0), constraint ledger_entry_wallet_customer_check check ((account = 'WALLET') = (customer_id is not null)));`);
    this.addSql(`create index "ledger_entry_journal_idx" on "ledger_entry" ("journal_id");`);
    this.addSql(`create index "ledger_entry_order_idx" on "ledger_entry" ("order_id");`);
    this.addSql(`create index "ledger_entry_wallet_idx" on "ledger_entry" ("customer_id", "created_at", "id");`);

    this.addSql(`create table "payment" ("id" uuid not null, "order_id" uuid not null, "method" text check ("method" in ('WALLET', 'GATEWAY')) not null, "amount" bigint not null, "currency" varchar(3) not null, "payer_id" varchar(64) null, "gateway_ref" varchar(255) null, "created_at" timestamptz not null default now(), constraint "payment_pkey" primary key ("id"));`);
    this.addSql(`alter table "payment" add constraint "payment_order_unique" unique ("order_id");`);

    this.addSql(`create table "plan" ("id" uuid not null, "name" varchar(200) not null, "description" text null, "price" int not null, "duration_days" int null, "sale_status" text check ("sale_status" in ('ON_SALE', 'HIDDEN', 'RETIRED')) not null default 'ON_SALE', "groups" text[] not null default '{}', "stock" int null, "stock_used" int not null default 0, "provider_id" varchar(64) null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), constraint "plan_pkey" primary key ("id"), constraint plan_stock_used_check check (stock_used >= 0), constraint plan_stock_check check (stock is null or stock >= 0), constraint plan_price_check check (price >= 0));`);
    this.addSql(`create index "plan_sale_status_idx" on "plan" ("sale_status");`);

    this.addSql(`create table "order" ("id" uuid not null, "number" varchar(32) not null, "customer_id" varchar(64) not null, "plan_id" uuid not null, "upgrade_ids" text[] not null default '{}', "coupon_id" uuid null, "coupon_code" varchar(64) null, "currency" varchar(3) not null, "subtotal" int not null, "discount" int not null, "tax" int not null, "total" int not null, "status" text check ("status" in ('PENDING', 'PAID', 'DELIVERED', 'CANCELLED', 'REFUNDED')) not null default 'PENDING', "created_at" timestamptz not null default now(), "expires_at" timestamptz null, "paid_at" timestamptz null, "payment_method" text check ("payment_method" in ('WALLET', 'GATEWAY')) null, "delivered_at" timestamptz null, "cancelled_at" timestamptz null, "cancel_reason" text check ("cancel_reason" in ('CUSTOMER', 'ADMIN', 'TIMEOUT')) null, "version" int not null default 1, "idempotency_key" varchar(200) null, constraint "order_pkey" primary key ("id"), constraint order_version_check check (version >= 1), constraint order_amounts_check check (subtotal >= 0 and discount >= 0 and discount <= subtotal and tax >= 0 and total = subtotal - discount + tax));`);
    this.addSql(`alter table "order" add constraint "order_number_unique" unique ("number");`);
    this.addSql(`create index "order_plan_idx" on "order" ("plan_id");`);
    this.addSql(`create index "order_customer_status_created_idx" on "order" ("customer_id", "status", "created_at", "id");`);
    this.addSql(`create index "order_customer_created_idx" on "order" ("customer_id", "created_at", "id");`);
    this.addSql(`alter table "order" add constraint "order_customer_idempotency_unique" unique ("customer_id", "idempotency_key");`);

    this.addSql(`create table "delivery" ("id" uuid not null, "order_id" uuid not null, "provider_id" varchar(64) null, "status" text check ("status" in ('NEW', 'IN_PROGRESS', 'REVIEWING', 'COMPLETED', 'FAILED', 'CANCELLED')) not null default 'NEW', "attempts" int not null default 0, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "completed_at" timestamptz null, constraint "delivery_pkey" primary key ("id"), constraint delivery_attempts_check check (attempts >= 0));`);
    this.addSql(`alter table "delivery" add constraint "delivery_order_unique" unique ("order_id");`);
    this.addSql(`create index "delivery_provider_status_idx" on "delivery" ("provider_id", "status");`);

    this.addSql(`create table "plan_upgrade" ("id" uuid not null, "plan_id" uuid not null, "name" varchar(200) not null, "price" int not null, "position" int not null, constraint "plan_upgrade_pkey" primary key ("id"), constraint plan_upgrade_price_check check (price >= 0));`);
    this.addSql(`create index "plan_upgrade_plan_idx" on "plan_upgrade" ("plan_id", "position");`);

    this.addSql(`create table "refund" ("id" uuid not null, "payment_id" uuid not null, "order_id" uuid not null, "amount" bigint not null, "gateway_ref" varchar(255) null, "created_at" timestamptz not null default now(), constraint "refund_pkey" primary key ("id"));`);
    this.addSql(`alter table "refund" add constraint "refund_payment_unique" unique ("payment_id");`);

    this.addSql(`create table "service_period" ("customer_id" varchar(64) not null, "plan_id" uuid not null, "starts_at" timestamptz not null, "ends_at" timestamptz null, "updated_at" timestamptz not null default now(), constraint "service_period_pkey" primary key ("customer_id", "plan_id"));`);

    this.addSql(`create table "wallet" ("customer_id" varchar(64) not null, "balance" bigint not null default 0, "updated_at" timestamptz not null default now(), constraint "wallet_pkey" primary key ("customer_id"), constraint wallet_balance_check check (balance >= 0));`);

    this.addSql(`create table "wallet_credit" ("reference" varchar(200) not null, "customer_id" varchar(64) not null, "amount" bigint not null, "journal_id" uuid not null, "created_at" timestamptz not null default now(), constraint "wallet_credit_pkey" primary key ("reference"));`);

    this.addSql(`alter table "coupon_customer_use" add constraint "coupon_customer_use_coupon_id_foreign" foreign key ("coupon_id") references "coupon" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "coupon_customer_use" add constraint "coupon_customer_use_customer_id_foreign" foreign key ("customer_id") references "customer" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "ledger_entry" add constraint "ledger_entry_customer_id_foreign" foreign key ("customer_id") references "customer" ("id") on update cascade on delete restrict;`);

    this.addSql(`alter table "plan" add constraint "plan_provider_id_foreign" foreign key ("provider_id") references "customer" ("id") on update cascade on delete restrict;`);

    this.addSql(`alter table "order" add constraint "order_customer_id_foreign" foreign key ("customer_id") references "customer" ("id") on update cascade on delete restrict;`);
    this.addSql(`alter table "order" add constraint "order_plan_id_foreign" foreign key ("plan_id") references "plan" ("id") on update cascade on delete restrict;`);
    this.addSql(`alter table "order" add constraint "order_coupon_id_foreign" foreign key ("coupon_id") references "coupon" ("id") on update cascade on delete restrict;`);

    this.addSql(`alter table "delivery" add constraint "delivery_order_id_foreign" foreign key ("order_id") references "order" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "delivery" add constraint "delivery_provider_id_foreign" foreign key ("provider_id") references "customer" ("id") on update cascade on delete restrict;`);

    this.addSql(`alter table "plan_upgrade" add constraint "plan_upgrade_plan_id_foreign" foreign key ("plan_id") references "plan" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "service_period" add constraint "service_period_customer_id_foreign" foreign key ("customer_id") references "customer" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "service_period" add constraint "service_period_plan_id_foreign" foreign key ("plan_id") references "plan" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "wallet" add constraint "wallet_customer_id_foreign" foreign key ("customer_id") references "customer" ("id") on update cascade on delete restrict;`);

    this.addSql(`alter table "wallet_credit" add constraint "wallet_credit_customer_id_foreign" foreign key ("customer_id") references "customer" ("id") on update cascade on delete restrict;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "coupon_customer_use" drop constraint "coupon_customer_use_coupon_id_foreign";`);

    this.addSql(`alter table "order" drop constraint "order_coupon_id_foreign";`);

    this.addSql(`alter table "coupon_customer_use" drop constraint "coupon_customer_use_customer_id_foreign";`);

    this.addSql(`alter table "ledger_entry" drop constraint "ledger_entry_customer_id_foreign";`);

    this.addSql(`alter table "plan" drop constraint "plan_provider_id_foreign";`);

    this.addSql(`alter table "order" drop constraint "order_customer_id_foreign";`);

    this.addSql(`alter table "delivery" drop constraint "delivery_provider_id_foreign";`);

    this.addSql(`alter table "service_period" drop constraint "service_period_customer_id_foreign";`);

    this.addSql(`alter table "wallet" drop constraint "wallet_customer_id_foreign";`);

    this.addSql(`alter table "wallet_credit" drop constraint "wallet_credit_customer_id_foreign";`);

    this.addSql(`alter table "order" drop constraint "order_plan_id_foreign";`);

    this.addSql(`alter table "plan_upgrade" drop constraint "plan_upgrade_plan_id_foreign";`);

    this.addSql(`alter table "service_period" drop constraint "service_period_plan_id_foreign";`);

    this.addSql(`alter table "delivery" drop constraint "delivery_order_id_foreign";`);

    this.addSql(`drop table if exists "checkout_session" cascade;`);

    this.addSql(`drop table if exists "coupon" cascade;`);

    this.addSql(`drop table if exists "customer" cascade;`);

    this.addSql(`drop table if exists "coupon_customer_use" cascade;`);

    this.addSql(`drop table if exists "gateway_charge" cascade;`);

    this.addSql(`drop table if exists "gateway_event" cascade;`);

    this.addSql(`drop table if exists "ledger_entry" cascade;`);

    this.addSql(`drop table if exists "payment" cascade;`);

    this.addSql(`drop table if exists "plan" cascade;`);

    this.addSql(`drop table if exists "order" cascade;`);

    this.addSql(`drop table if exists "delivery" cascade;`);

    this.addSql(`drop table if exists "plan_upgrade" cascade;`);

    this.addSql(`drop table if exists "refund" cascade;`);

    this.addSql(`drop table if exists "service_period" cascade;`);

    this.addSql(`drop table if exists "wallet" cascade;`);

    this.addSql(`drop table if exists "wallet_credit" cascade;`);
  }

}
