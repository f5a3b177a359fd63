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
        id bigint generated always as identity primary key,
        task text not null,
        payload jsonb not null,
        job_key text,
        run_at timestamptz,
        max_attempts int not null default 25 check (max_attempts between 1 and 32767),
        created_at timestamptz not null default now()
      );`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists job_outbox;`);
  }
}
