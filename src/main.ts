import 'reflect-metadata';
import { startApp } from './app';
import { loadConfigOrExit } from './config';
import { resolveDatabase } from './database';

const STOP_TIMEOUT_MS = 25_000;

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const say = (m: string) => console.log(`[commerce] ${m}`);

  // Listened for from the start: a stop asked for while starting (a load balancer's SIGTERM, an early
  // Ctrl-C) is carried out once the server is up, through the same graceful path, instead of killing
  // the process half-started.
  let requested: NodeJS.Signals | undefined;
  let onSignal = (signal: NodeJS.Signals) => void (requested ??= signal);
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));

  if (config.jwt.devSecret) {
    console.warn('[commerce] WARNING: JWT_SECRET is unset: using the built-in development secret. Never use it in production.');
  }
  if (config.stripe.devGateway) say('Stripe keys are unset: the development gateway serves checkout pages locally.');
  if (!config.redisUrl) say('REDIS_URL is unset: in-process pub/sub (one instance only).');

  const started = Date.now();
  const db = await resolveDatabase(config, say);
  const app = await startApp(config, db.url).catch(async (e: unknown) => {
    await db.stop().catch(() => undefined);
    throw e;
  });
  say(`GraphQL on ${config.publicUrl}/graphql (ready in ${Date.now() - started} ms)`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.http.log.info({ signal }, 'stopping');
    const timer = setTimeout(() => {
      console.error('[commerce] graceful stop timed out');
      process.exit(1);
    }, STOP_TIMEOUT_MS).unref();
    try {
      await app.stop();
      // An embedded PostgreSQL runs in a session of its own, so a terminal's Ctrl-C reaches only this
      // process: it stops last, when no connection of the API is in use any more.
      await db.stop();
      clearTimeout(timer);
      process.exit(0);
    } catch (e) {
      console.error('[commerce] error while stopping', e);
      process.exit(1);
    }
  };
  onSignal = (signal) => void stop(signal);
  if (requested) void stop(requested);
}

main().catch((e) => {
  console.error('[commerce] failed to start:', e instanceof Error ? e.message : e);
  process.exit(1);
});
