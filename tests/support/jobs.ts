/**
 * Every job asked for and not yet finished, wherever it is: still in `job_outbox` (committed, not yet
 * relayed) or in graphile-worker's queue (waiting or running). Use it as a table in FROM:
 * `select count(*) from ${PENDING_JOBS} where task = 'send_mail'`. Columns: task, key, run_at, locked_at.
 */
export const PENDING_JOBS = `(select task, job_key as key, coalesce(run_at, created_at) as run_at, null::timestamptz as locked_at from job_outbox
   union all select task_identifier, key, run_at, locked_at from graphile_worker.jobs) as pending_job`;
