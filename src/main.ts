import 'reflect-metadata';
import { startApp } from './app';
import { loadConfigOrExit } from './config';
import { resolveDatabase } from './database';
import { gracefulStop, type StopLog } from './infra/graceful-stop';

const STOP_TIMEOUT_MS = 25_000;

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const say = (m: string) => console.log(`[commerce] ${m}`);
  const problem = (message: string, fields?: Record<string, unknown>) => console.error(`[commerce] ${message}`, ...(fields ? [fields] : []));
  let log: StopLog = (level, message, fields) => (level === 'error' ? problem(message, fields) : say(message));

  // Installed first: a stop asked for while starting (a load balancer's SIGTERM, an early Ctrl-C) is
  // carried out once the server is up, through the same graceful path, instead of killing the process
  // half-started.
  const stopper = gracefulStop({ timeoutMs: STOP_TIMEOUT_MS, log: (level, message, fields) => log(level, message, fields) });
  try {
    if (config.jwt.devSecret) {
      console.warn('[commerce] WARNING: JWT_SECRET is unset: using the built-in development secret. Never use it in production.');
    }
    if (config.stripe.devGateway) say('Stripe keys are unset: the development gateway serves checkout pages locally.');
    if (!config.redisUrl) say('REDIS_URL is unset: in-process pub/sub (one instance only).');

    const started = Date.now();
    const db = await resolveDatabase(config, say);
    // An embedded PostgreSQL runs in a session of its own, so a terminal's Ctrl-C reaches only this
    // process: it stops last, when no connection of the API is in use any more.
    stopper.add('database', () => db.stop());
    const app = await startApp(config, db.url);
    stopper.add('api', () => app.stop());
    log = (level, message, fields) => (level === 'error' ? problem(message, fields) : app.http.log.info(fields, message));
    say(`GraphQL on ${config.publicUrl}/graphql (ready in ${Date.now() - started} ms)`);
    stopper.ready();
  } catch (e) {
    console.error('[commerce] failed to start:', e instanceof Error ? e.message : e);
    await stopper.stop('failed to start', 1);
  }
}

main().catch((e) => {
  console.error('[commerce] failed to start:', e instanceof Error ? e.message : e);
  process.exit(1);
});
