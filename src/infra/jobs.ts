import type { EntityManager } from '@mikro-orm/postgresql';
import { run, runMigrations, type JobHelpers, type Runner, type Task, type TaskList, type WorkerEvents, type Logger as WorkerLogger, Logger } from 'graphile-worker';
import { EventEmitter } from 'node:events';
import { Client, Pool } from 'pg';

/** Options of one enqueued job. */
export interface EnqueueOptions {
  runAt?: Date;
  /** A job with the same key replaces the pending one instead of adding a second. */
  jobKey?: string;
  maxAttempts?: number;
}

/**
 * Asks for a job through `em`'s connection: one insert into `job_outbox`, which the job runners' relay
 * hands to graphile-worker once committed (see {@link startOutboxRelay}). Called inside a unit of work it
 * commits or rolls back with it, so a job exists exactly when the change that asked for it does, and the
 * transaction does not NOTIFY (PostgreSQL serialises the commits of transactions that do).
 */
export async function enqueue(em: EntityManager, task: string, payload: object, opts: EnqueueOptions = {}): Promise<void> {
  await em.execute(`insert into job_outbox (task, payload, job_key, run_at, max_attempts) values (?, ?::jsonb, ?, ?::timestamptz, ?)`, [
    task,
    JSON.stringify(payload),
    opts.jobKey ?? null,
    opts.runAt?.toISOString() ?? null,
    opts.maxAttempts ?? 25,
  ]);
}

/** Outbox rows one relay call moves at most. */
const RELAY_BATCH = 500;
/** How often an idle relay looks for new rows; a busy one goes again at once. */
const RELAY_IDLE_MS = 50;

/**
 * Moves committed `job_outbox` rows to graphile-worker, a batch at a time (one `add_jobs`, one NOTIFY,
 * per batch: `job_outbox_relay` in the migrations), for as long as the runner lives. Any number of
 * runners relay at once without taking the same row. A failed call (database away) is reported and
 * tried again on the next tick.
 */
export function startOutboxRelay(pool: Pool, log?: (level: string, message: string) => void): { stop(): Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();
  const tick = async () => {
    let again = false;
    try {
      const { rows } = await pool.query<{ n: number }>('select job_outbox_relay($1) as n', [RELAY_BATCH]);
      again = rows[0].n >= RELAY_BATCH;
    } catch (e) {
      if (!stopped) log?.('error', `job outbox relay: ${(e as Error).message}`);
    }
    if (!stopped) {
      timer = setTimeout(() => {
        running = tick();
      }, again ? 0 : RELAY_IDLE_MS);
    }
  };
  running = tick();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}

/** Installs or upgrades graphile-worker's own schema. */
export async function migrateJobs(connectionString: string): Promise<void> {
  await runMigrations({ connectionString, logger: quietLogger() });
}

function quietLogger(log?: (level: string, message: string) => void): WorkerLogger {
  return new Logger(() => (level, message) => {
    const name: string = level;
    if (log && name !== 'debug') log(name, message);
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
  const pgPool = new Pool({ connectionString, max: opts.concurrency + 3 });
  const lost = (e: Error) => opts.log?.('error', `job runner: database connection lost: ${e.message}`);
  pgPool.on('error', lost);
  pgPool.on('connect', (client) => client.on('error', lost));
  const events = new EventEmitter() as WorkerEvents;
  let poolId: string | undefined;
  events.on('pool:create', ({ workerPool }) => {
    poolId = workerPool.id;
  });
  const runner = await run({
    pgPool,
    taskList: tasks,
    concurrency: opts.concurrency,
    noHandleSignals: true,
    pollInterval: 1_000,
    logger: quietLogger(opts.log),
    events,
    // Every payment starts jobs (its delivery, then mails): fetched one by one and completed one by one,
    // they cost the database two statements each beside the payment's one. The pool takes up to a
    // batch at once and completes the jobs that finish together in one statement.
    preset: { worker: { localQueue: { size: opts.concurrency * 2 }, completeJobBatchDelay: 0 } },
  }).catch(async (e: unknown) => {
    await pgPool.end();
    throw e;
  });
  const recovery = poolId ? await crashRecovery(connectionString, poolId, opts.log) : null;
  const relay = startOutboxRelay(pgPool, opts.log);
  const stopRunner = runner.stop.bind(runner);
  return Object.assign(runner, {
    async stop() {
      await relay.stop();
      await stopRunner();
      await recovery?.stop();
      await pgPool.end();
    },
  });
}

/** A job locked for longer than this by a runner that holds no liveness lock is taken back. */
const STALE_LOCK_SECONDS = 15;
const RECOVERY_EVERY_MS = 10_000;
/** How soon a runner whose liveness connection was lost connects again (and again, while it cannot). */
const LIVENESS_RECONNECT_MS = 500;
const livenessKey = (poolId: string) => `graphile-pool:${poolId}`;

/**
 * Takes back the jobs of runners that died (SIGKILL, lost machine). graphile-worker 0.17 leaves a dead
 * runner's jobs locked for four hours, so a paid order's delivery or mail would wait that long. Each
 * runner holds a session advisory lock named after its pool id for its whole life; jobs locked by a
 * pool whose lock is free (no live session holds it) are unlocked with `force_unlock_workers` and run
 * again. Checked at start and every 10 s, by every runner.
 *
 * A runner whose liveness connection is lost (PostgreSQL restarted, the session terminated, the
 * network) while it runs jobs looks dead to the others until it holds the lock again, and a job of its
 * locked for longer than {@link STALE_LOCK_SECONDS} would be taken back and run twice: so it connects
 * again at once ({@link LIVENESS_RECONNECT_MS}, retrying while it cannot), not at its next check.
 */
async function crashRecovery(connectionString: string, poolId: string, log?: (level: string, message: string) => void) {
  let client: Client | null = null;
  let connecting: Promise<Client> | null = null;
  let reconnect: NodeJS.Timeout | undefined;
  /** Whether connecting again has failed since the connection was last held (reported once). */
  let failing = false;
  let stopped = false;
  const report = (m: string) => log?.('error', `job recovery: ${m}`);
  const lost = (c: Client) => {
    if (client !== c) return;
    client = null;
    reconnectSoon();
  };
  const connect = async (): Promise<Client> => {
    const c = new Client({ connectionString });
    c.on('error', (e) => {
      // A connection that never held the lock fails its connect() too, reported there (once).
      if (client === c) report(e.message);
      lost(c);
    });
    c.on('end', () => lost(c));
    try {
      await c.connect();
      await c.query('select pg_advisory_lock(hashtext($1))', [livenessKey(poolId)]);
    } catch (e) {
      await c.end().catch(() => undefined);
      throw e;
    }
    if (stopped) {
      await c.end().catch(() => undefined);
      throw new Error('stopped');
    }
    client = c;
    return c;
  };
  /**
   * The liveness connection, holding the lock: one connection at a time, however many ask for it. One
   * that cannot be made is tried again soon.
   */
  const connected = (): Promise<Client> => {
    if (client) return Promise.resolve(client);
    connecting ??= connect()
      .then(
        (c) => {
          failing = false;
          return c;
        },
        (e: unknown) => {
          reconnectSoon();
          throw e;
        },
      )
      .finally(() => (connecting = null));
    return connecting;
  };
  function reconnectSoon(): void {
    if (stopped || reconnect) return;
    reconnect = setTimeout(() => {
      reconnect = undefined;
      if (stopped || client) return;
      // Tried every half second while PostgreSQL is away: its first failure is reported, not each one.
      connected().catch((e: Error) => {
        if (!stopped && !failing) report(e.message);
        failing = true;
      });
    }, LIVENESS_RECONNECT_MS);
    reconnect.unref();
  }
  const sweep = async () => {
    if (stopped) return;
    const c = await connected();
    const { rows } = await c.query<{ locked_by: string }>(
      `select distinct locked_by from graphile_worker.jobs
        where locked_by like 'pool-%' and locked_by <> $1 and locked_at < now() - make_interval(secs => $2)`,
      [poolId, STALE_LOCK_SECONDS],
    );
    for (const { locked_by: other } of rows) {
      const { rows: got } = await c.query<{ free: boolean }>('select pg_try_advisory_lock(hashtext($1)) as free', [livenessKey(other)]);
      if (!got[0].free) continue; // its runner is alive: a long job, not a dead one
      try {
        await c.query('select graphile_worker.force_unlock_workers($1::text[])', [[other]]);
        log?.('warn', `job recovery: took back the jobs of dead runner ${other}`);
      } finally {
        await c.query('select pg_advisory_unlock(hashtext($1))', [livenessKey(other)]);
      }
    }
  };
  await sweep().catch((e: Error) => report(e.message));
  const timer = setInterval(() => void sweep().catch((e: Error) => report(e.message)), RECOVERY_EVERY_MS);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      clearTimeout(reconnect);
      await connecting?.catch(() => undefined);
      await client?.end().catch(() => undefined);
    },
  };
}

export type { Task, TaskList, Runner, JobHelpers };
