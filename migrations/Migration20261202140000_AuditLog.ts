import { Migration } from '@mikro-orm/migrations';

/**
 * The audit log: one row per admin mutation, per delivery status change and per thing the system does
 * to orders and money on its own, written in the transaction of the change. Rows are never changed or
 * deleted: a trigger refuses update and delete (row by row) and truncate, as the ledger's does.
 * Indexes serve `auditLog` newest first by keyset: all entries, by actor, by target, by both.
 */
export class Migration20261202140000_AuditLog extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "audit_entry" ("id" uuid not null, "at" timestamptz not null default now(), "actor" varchar(80) not null, "action" varchar(64) not null, "target_type" text check ("target_type" in ('Order', 'Plan', 'Coupon', 'Customer', 'Wallet')) not null, "target_id" varchar(255) not null, "details" jsonb null, constraint "audit_entry_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "audit_entry_at_idx" on "audit_entry" ("at", "id");`);
    this.addSql(`create index "audit_entry_actor_idx" on "audit_entry" ("actor", "at", "id");`);
    this.addSql(`create index "audit_entry_target_idx" on "audit_entry" ("target_id", "at", "id");`);
    this.addSql(`create index "audit_entry_actor_target_idx" on "audit_entry" ("actor", "target_id", "at", "id");`);
    this.addSql(`
      create or replace function audit_entry_immutable() returns trigger language plpgsql as $$
      begin
        raise exception 'audit entries are never changed or deleted' using errcode = '55000';
      end $$;`);
    this.addSql(`
      create trigger audit_entry_immutable before update or delete on audit_entry
        for each row execute function audit_entry_immutable();`);
    this.addSql(`
      create trigger audit_entry_no_truncate before truncate on audit_entry
        for each statement execute function audit_entry_immutable();`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists audit_entry_no_truncate on audit_entry;`);
    this.addSql(`drop trigger if exists audit_entry_immutable on audit_entry;`);
    this.addSql(`drop function if exists audit_entry_immutable();`);
    this.addSql(`drop table if exists "audit_entry" cascade;`);
  }
}
