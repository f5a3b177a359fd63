import type { EntityManager } from '@mikro-orm/postgresql';
import { Pool } from 'pg';
import { run, runMigrations, type Runner, type Task, type TaskList, type Logger as WorkerLogger, Logger } from 'graphile-worker';

/** Options of one enqueued job. */
export interface EnqueueOptions {
  runAt?: Date;
  /** A job with the same key replaces the pending one instead of adding a second. */
  jobKey?: string;
  maxAttempts?: number;
}

/**
 * Adds a graphile-worker job through `em`'s connection. Called inside a unit of work it commits or
 * rolls back with it, so a job exists exactly when the change that asked for it does.
 */
export async function enqueue(em: EntityManager, task: string, payload: object, opts: EnqueueOptions = {}): Promise<void> {
  await em.execute(
    'select graphile_worker.add_job(?::text, ?::json, run_at => ?::timestamptz, job_key => ?::text, max_attempts => ?::int)',
    [task, JSON.stringify(payload), opts.runAt?.toISOString() ?? null, opts.jobKey ?? null, opts.maxAttempts ?? 25],
  );
}

/** Installs or upgrades graphile-worker's own schema. */
export async function migrateJobs(connectionString: string): Promise<void> {
  await runMigrations({ connectionString, logger: quietLogger() });
}

function quietLogger(log?: (level: string, message: string) => void): WorkerLogger {
  return new Logger(() => (level, message) => {
    if (log && level !== 'debug') log(level, message);
  });
}

/**
 * Starts the job runner for `tasks` on a connection pool of its own, which its `stop()` closes. The pool
 * listens for errors: a pooled idle connection that the database drops (restart, failover, shutdown)
 * is reported as an 'error' event, which would otherwise end the process.
 */
export async function startWorker(
  connectionString: string,
  tasks: TaskList,
  opts: { concurrency: number; log?: (level: string, message: string) => void },
): Promise<Runner> {
  const pgPool = new Pool({ connectionString, max: opts.concurrency + 2 });
  const lost = (e: Error) => opts.log?.('error', `job runner: database connection lost: ${e.message}`);
  pgPool.on('error', lost);
  pgPool.on('connect', (client) => client.on('error', lost));
  const runner = await run({
    pgPool,
    taskList: tasks,
    concurrency: opts.concurrency,
    noHandleSignals: true,
    pollInterval: 1_000,
    logger: quietLogger(opts.log),
  }).catch(async (e: unknown) => {
    await pgPool.end();
    throw e;
  });
  const stopRunner = runner.stop.bind(runner);
  return Object.assign(runner, {
    async stop() {
      await stopRunner();
      await pgPool.end();
    },
  });
}

export type { Task, TaskList, Runner };
