import 'reflect-metadata';
import pino from 'pino';
import { loadConfigOrExit } from './config';
import { resolveDatabase } from './database';
import { entities } from './entities';
import { REDACTED_PATHS } from './http/logging';
import { startWorker } from './infra/jobs';
import { initOrm } from './infra/orm';
import { memoryBus, redisBus } from './infra/pubsub';
import { createServices, type AppTopics } from './services';

const STOP_TIMEOUT_MS = 25_000;

/**
 * The background worker alone: runs the graphile-worker job runner (deliveries, mails, payment
 * timeouts) without serving HTTP, for deployments whose API instances run with RUN_WORKER=false.
 * The API instances apply migrations; this process only reads and works the job queue.
 * SIGTERM/SIGINT: stop taking jobs, let the running ones finish, then exit 0.
 */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const log = pino({ level: config.logLevel, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }).child({ process: 'worker' });
  if (!config.redisUrl) log.warn('REDIS_URL is unset: order changes made by jobs reach only subscribers of this process');

  const db = await resolveDatabase(config, (m) => log.info(m));
  const orm = await initOrm(entities, db.url, Math.max(2, config.workerConcurrency + 1));
  const bus = config.redisUrl ? redisBus<AppTopics>(config.redisUrl, (e) => log.warn({ err: e.message }, 'redis error')) : memoryBus<AppTopics>();
  const services = createServices({ config, bus, orm, log: (m, fields) => log.info(fields, m) });
  const runner = await startWorker(db.url, services.tasks, {
    concurrency: config.workerConcurrency,
    log: (level, message) => (level === 'error' ? log.error(message) : log.debug(message)),
  });
  log.info({ tasks: Object.keys(services.tasks), concurrency: config.workerConcurrency }, 'worker started');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    const timer = setTimeout(() => {
      log.error('graceful stop timed out');
      process.exit(1);
    }, STOP_TIMEOUT_MS).unref();
    try {
      await runner.stop(); // waits for the jobs in progress
      await services.coupons.close();
      await bus.close();
      await orm.close();
      await db.stop();
      clearTimeout(timer);
      process.exit(0);
    } catch (e) {
      log.error({ err: e }, 'error while stopping');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // A runner that dies on its own (lost database for good) ends the process so it is restarted.
  runner.promise.catch((e) => {
    log.error({ err: e }, 'job runner failed');
    process.exit(1);
  });
}

main().catch((e) => {
  console.error('[worker] failed to start:', e instanceof Error ? e.message : e);
  process.exit(1);
});
