import { Migration } from '@mikro-orm/migrations';

/**
 * Jobs asked for by a transaction are written to `job_outbox`, a plain insert-only table, instead of
 * through graphile-worker's `add_job`: every `add_job` NOTIFYs, and PostgreSQL serialises the commits of
 * transactions that NOTIFY (one global lock held through the commit's WAL flush), so each order and
 * payment queued behind every other. A relay in the job runner moves committed rows to graphile-worker
 * in batches, one `add_jobs` (one NOTIFY) per batch.
 */
export class Migration20261202160000_JobOutbox extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table job_outbox (
        id bigserial primary key,
        task text not null,
        payload jsonb not null,
        job_key text,
        run_at timestamptz,
        max_attempts int not null default 25,
        created_at timestamptz not null default now(),
        constraint job_outbox_max_attempts_check check (max_attempts >= 1 and max_attempts <= 32767)
      );`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists job_outbox;`);
  }
}
