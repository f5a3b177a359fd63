import { Migration } from '@mikro-orm/migrations';

/**
 * Indexes of the back-office listings, so each stays a short index range scan on a large table:
 * - orders, newest first: all of them or a date range (created_at, id); by status (status, created_at, id);
 *   by plan (plan_id, created_at, id), which also serves the plan foreign key and so replaces the plain
 *   plan index; by plan and status (plan_id, status, created_at, id). A customer's orders already have
 *   (customer_id, [status,] created_at, id), and a number is unique.
 * - customers, by id: in a group (customer_group, id); an id containing a text, any case (trigram GIN).
 * - coupons, newest first (created_at, id).
 */
export class Migration20261202120000_BackOfficeIndexes extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create extension if not exists pg_trgm;`);
    this.addSql(`create index "order_created_idx" on "order" ("created_at", "id");`);
    this.addSql(`create index "order_status_created_idx" on "order" ("status", "created_at", "id");`);
    this.addSql(`create index "order_plan_created_idx" on "order" ("plan_id", "created_at", "id");`);
    this.addSql(`create index "order_plan_status_created_idx" on "order" ("plan_id", "status", "created_at", "id");`);
    this.addSql(`drop index "order_plan_idx";`);
    this.addSql(`create index "customer_group_idx" on "customer" ("customer_group", "id");`);
    this.addSql(`create index "customer_id_trgm_idx" on "customer" using gin ("id" gin_trgm_ops);`);
    this.addSql(`create index "coupon_created_idx" on "coupon" ("created_at", "id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "coupon_created_idx";`);
    this.addSql(`drop index if exists "customer_id_trgm_idx";`);
    this.addSql(`drop index if exists "customer_group_idx";`);
    this.addSql(`create index "order_plan_idx" on "order" ("plan_id");`);
    this.addSql(`drop index if exists "order_plan_status_created_idx";`);
    this.addSql(`drop index if exists "order_plan_created_idx";`);
    this.addSql(`drop index if exists "order_status_created_idx";`);
    this.addSql(`drop index if exists "order_created_idx";`);
  }
}
