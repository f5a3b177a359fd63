import 'reflect-metadata';
import pino from 'pino';
import { loadConfigOrExit } from './config';
import { resolveDatabase } from './database';
import { entities } from './entities';
import { REDACTED_PATHS } from './http/logging';
import { gracefulStop } from './infra/graceful-stop';
import { startWorker } from './infra/jobs';
import { initOrm } from './infra/orm';
import { memoryBus, redisBus } from './infra/pubsub';
import { createServices, type AppTopics } from './services';

const STOP_TIMEOUT_MS = 25_000;

/**
 * The background worker alone: runs the graphile-worker job runner (deliveries, mails, payment
 * timeouts) without serving HTTP, for deployments whose API instances run with RUN_WORKER=false.
 * The API instances apply migrations; this process only reads and works the job queue.
 * SIGTERM/SIGINT: stop taking jobs, let the running ones finish, close the rest, then exit 0
 * ({@link gracefulStop}, as the API).
 */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const log = pino({ level: config.logLevel, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }).child({ process: 'worker' });
  const stopper = gracefulStop({ timeoutMs: STOP_TIMEOUT_MS, log: (level, message, fields) => log[level](fields ?? {}, message) });
  try {
    if (!config.redisUrl) log.warn('REDIS_URL is unset: order changes made by jobs reach only subscribers of this process');

    const db = await resolveDatabase(config, (m) => log.info(m));
    stopper.add('database', () => db.stop());
    const orm = await initOrm(entities, db.url, Math.max(2, config.workerConcurrency + 1));
    stopper.add('orm', () => orm.close());
    const bus = config.redisUrl ? redisBus<AppTopics>(config.redisUrl, (e) => log.warn({ err: e.message }, 'redis error')) : memoryBus<AppTopics>();
    stopper.add('event bus', () => bus.close());
    const services = createServices({ config, bus, orm, log: (m, fields) => log.info(fields, m) });
    stopper.add('coupon rules', () => services.coupons.close());
    const runner = await startWorker(db.url, services.tasks, {
      concurrency: config.workerConcurrency,
      log: (level, message) => (level === 'error' ? log.error(message) : log.debug(message)),
    });
    // Stopped first: it takes no new job and waits for the ones in progress, which still need the rest.
    stopper.add('job runner', () => runner.stop());
    log.info({ tasks: Object.keys(services.tasks), concurrency: config.workerConcurrency }, 'worker started');
    // A runner that dies on its own (lost database for good) ends the process so it is restarted.
    runner.promise.catch((e: unknown) => {
      log.error({ err: e }, 'job runner failed');
      void stopper.stop('job runner failed', 1);
    });
    stopper.ready();
  } catch (e) {
    console.error('[worker] failed to start:', e instanceof Error ? e.message : e);
    await stopper.stop('failed to start', 1);
  }
}

main().catch((e) => {
  console.error('[worker] failed to start:', e instanceof Error ? e.message : e);
  process.exit(1);
});
