import { Migration } from '@mikro-orm/migrations';

/**
 * Wallet top-ups through the gateway: one row per `topUpWallet` checkout, and the ledger kind TOP_UP of
 * the journal that credits it (from the gateway clearing account to the customer's wallet).
 */
export class Migration20261202140001_WalletTopUps extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "wallet_top_up" ("id" uuid not null, "customer_id" varchar(64) not null, "amount" bigint not null, "currency" varchar(3) not null, "session_id" varchar(255) not null, "checkout_url" text not null, "status" text check ("status" in ('OPEN', 'CREDITED', 'REFUNDED', 'EXPIRED', 'FAILED')) not null default 'OPEN', "journal_id" uuid null, "expires_at" timestamptz null, "created_at" timestamptz not null default now(), "settled_at" timestamptz null, constraint "wallet_top_up_pkey" primary key ("id"), constraint wallet_top_up_amount_check check (amount > 0), constraint wallet_top_up_credited_check check ((status = 'CREDITED') = (journal_id is not null)));`,
    );
    this.addSql(`create index "wallet_top_up_customer_idx" on "wallet_top_up" ("customer_id", "created_at");`);
    this.addSql(`alter table "wallet_top_up" add constraint "wallet_top_up_session_unique" unique ("session_id");`);
    this.addSql(`alter table "wallet_top_up" add constraint "wallet_top_up_journal_unique" unique ("journal_id");`);
    this.addSql(
      `alter table "wallet_top_up" add constraint "wallet_top_up_customer_id_foreign" foreign key ("customer_id") references "customer" ("id") on update cascade on delete restrict;`,
    );
    this.addSql(`alter table "ledger_entry" drop constraint "ledger_entry_kind_check";`);
    this.addSql(`alter table "ledger_entry" add constraint "ledger_entry_kind_check" check ("kind" in ('CREDIT', 'PAYMENT', 'REFUND', 'RELEASE', 'PAYOUT', 'HOLD', 'TOP_UP'));`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "ledger_entry" drop constraint "ledger_entry_kind_check";`);
    this.addSql(`alter table "ledger_entry" add constraint "ledger_entry_kind_check" check ("kind" in ('CREDIT', 'PAYMENT', 'REFUND', 'RELEASE', 'PAYOUT', 'HOLD'));`);
    this.addSql(`drop table if exists "wallet_top_up" cascade;`);
  }
}
