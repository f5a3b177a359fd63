import { Migration } from '@mikro-orm/migrations';

/**
 * The admin order list without a customer, plan or status filter sorts by creation time read as UTC, an
 * expression only that list uses, so the lists led by a customer, a plan or a status can never be served
 * by walking this index and skipping rows (see src/modules/order/order-search.ts).
 */
export class Migration20261202120001_OrderCreatedUtcIndex extends Migration {
  override async up(): Promise<void> {
    this.addSql(`drop index if exists "order_created_idx";`);
    this.addSql(`create index "order_created_utc_idx" on "order" ((created_at at time zone 'UTC'), "id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "order_created_utc_idx";`);
    this.addSql(`create index "order_created_idx" on "order" ("created_at", "id");`);
  }
}
