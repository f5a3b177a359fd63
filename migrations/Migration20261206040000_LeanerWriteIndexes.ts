import { Migration } from '@mikro-orm/migrations';

/**
 * Fewer index entries per order change and per payment. Every change of an order's status rewrites the
 * order's row with a new entry in each of its indexes, and right after a checkpoint the first entry
 * written into a leaf page logs that whole page (8 KB) to the WAL. Indexes led by the customer touch
 * one leaf page per customer, so they wrote most of a payment's WAL: pg_waldump of wallet payments made
 * just after a checkpoint (2,000 customers in turn, as the bench pays) put 8.6 KB of WAL on each, 1.9
 * KB of it in (customer, status, created_at, id) and 0.34 KB in the idempotency key's unique index;
 * with this migration 6.0-6.5 KB.
 * - `order_customer_status_created_idx` goes: a customer's orders with a status are read from
 *   (customer, created_at, id), whose walk stops after the page's rows that match; a customer's orders
 *   are few next to the table.
 * - `order_customer_idempotency_unique` keeps only orders that have a key: most have none, and a null
 *   key never conflicted.
 * - `ledger_entry_wallet_idx` keeps only the entries that name a customer (wallet and payable ones, the
 *   only ones its listing reads); the platform's side of every journal (escrow, clearing) is left out.
 */
export class Migration20261206040000_LeanerWriteIndexes extends Migration {
  override async up(): Promise<void> {
    this.addSql(`drop index "order_customer_status_created_idx";`);
    this.addSql(`alter table "order" drop constraint "order_customer_idempotency_unique";`);
    this.addSql(`create unique index "order_customer_idempotency_unique" on "order" ("customer_id", "idempotency_key") where "idempotency_key" is not null;`);
    this.addSql(`drop index "ledger_entry_wallet_idx";`);
    this.addSql(`create index "ledger_entry_wallet_idx" on "ledger_entry" ("customer_id", "created_at", "id") where "customer_id" is not null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "ledger_entry_wallet_idx";`);
    this.addSql(`create index "ledger_entry_wallet_idx" on "ledger_entry" ("customer_id", "created_at", "id");`);
    this.addSql(`drop index "order_customer_idempotency_unique";`);
    this.addSql(`alter table "order" add constraint "order_customer_idempotency_unique" unique ("customer_id", "idempotency_key");`);
    this.addSql(`create index "order_customer_status_created_idx" on "order" ("customer_id", "status", "created_at", "id");`);
  }
}
