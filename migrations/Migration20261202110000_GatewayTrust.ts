import { Migration } from '@mikro-orm/migrations';

/**
 * Gateway calls leave the transactions: refunds (of orders and of charges that pay nothing) are
 * recorded with a status and sent to Stripe by a job; Checkout Sessions remember when they expire and
 * are found by order; webhook events that fail are kept in the inbox with their error and retried.
 * Refunds and charge refunds made before this were sent to Stripe inside their transaction, so they
 * are SUCCEEDED.
 */
export class Migration20261202110000_GatewayTrust extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "refund" add column "status" text check ("status" in ('PENDING', 'SUCCEEDED', 'FAILED')) not null default 'SUCCEEDED', add column "error" text null, add column "settled_at" timestamptz null;`);
    this.addSql(`update "refund" set "settled_at" = "created_at";`);
    this.addSql(`alter table "refund" alter column "status" drop default;`);

    this.addSql(`alter table "gateway_charge" add column "refund_status" text check ("refund_status" in ('PENDING', 'SUCCEEDED', 'FAILED')) null, add column "refund_error" text null;`);
    this.addSql(`update "gateway_charge" set "refund_status" = 'SUCCEEDED' where "refund_ref" is not null;`);

    this.addSql(`alter table "checkout_session" add column "expires_at" timestamptz null;`);
    this.addSql(`create index "checkout_session_order_index" on "checkout_session" ("order_id");`);

    this.addSql(`alter table "gateway_event" add column "status" text check ("status" in ('PROCESSED', 'FAILED')) not null default 'PROCESSED', add column "payload" jsonb null, add column "error" text null, add column "attempts" int not null default 1, add column "last_tried_at" timestamptz null, add column "next_attempt_at" timestamptz null;`);
    this.addSql(`alter table "gateway_event" alter column "status" drop default;`);
    this.addSql(`create index "gateway_event_failed_index" on "gateway_event" ("received_at") where "status" = 'FAILED';`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "gateway_event_failed_index";`);
    this.addSql(`alter table "gateway_event" drop column "status", drop column "payload", drop column "error", drop column "attempts", drop column "last_tried_at", drop column "next_attempt_at";`);
    this.addSql(`drop index if exists "checkout_session_order_index";`);
    this.addSql(`alter table "checkout_session" drop column "expires_at";`);
    this.addSql(`alter table "gateway_charge" drop column "refund_status", drop column "refund_error";`);
    this.addSql(`alter table "refund" drop column "status", drop column "error", drop column "settled_at";`);
  }
}
