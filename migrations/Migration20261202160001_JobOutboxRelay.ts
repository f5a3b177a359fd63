import { Migration } from '@mikro-orm/migrations';

/**
 * `job_outbox_relay(batch)` moves up to `batch` committed outbox rows, oldest first, to graphile-worker
 * with one `add_jobs` call (one NOTIFY for the whole batch) and returns how many rows it took. Rows that
 * another relay is moving are skipped, so any number of job runners can relay at once. One `add_jobs`
 * inserts its batch in one statement, which cannot replace the same job key twice: of several requests
 * for one key in a batch the last is kept, as one `add_job` after another would have left it.
 */
export class Migration20261202160001_JobOutboxRelay extends Migration {
  override async up(): Promise<void> {
    // graphile-worker installs its schema after these migrations run: its type is resolved at the first call.
    this.addSql(`set local check_function_bodies = off;`);
    this.addSql(`
      create function job_outbox_relay(batch int) returns int language plpgsql as $$
      declare
        specs graphile_worker.job_spec[];
        moved int;
      begin
        with taken as (
          delete from job_outbox
           where id in (select id from job_outbox order by id limit batch for update skip locked)
          returning id, task, payload, job_key, run_at, max_attempts
        ), latest as (
          select distinct on (coalesce('key:' || job_key, 'row:' || id)) *
            from taken order by coalesce('key:' || job_key, 'row:' || id), id desc
        )
        select (select array_agg(row(task, payload::json, null, run_at, max_attempts, job_key, null, null)::graphile_worker.job_spec order by id) from latest),
               (select count(*) from taken)
          into specs, moved;
        if specs is not null then
          perform graphile_worker.add_jobs(specs);
        end if;
        return moved;
      end;
      $$;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop function if exists job_outbox_relay(int);`);
  }
}
