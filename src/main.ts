import 'reflect-metadata';
import { startApp } from './app';
import { loadConfigOrExit } from './config';
import { resolveDatabase } from './database';

const STOP_TIMEOUT_MS = 25_000;

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const say = (m: string) => console.log(`[commerce] ${m}`);
  if (config.jwt.devSecret) {
    console.warn('[commerce] WARNING: JWT_SECRET is unset: using the built-in development secret. Never use it in production.');
  }
  if (config.stripe.devGateway) say('Stripe keys are unset: the development gateway serves checkout pages locally.');
  if (!config.redisUrl) say('REDIS_URL is unset: in-process pub/sub (one instance only).');

  const started = Date.now();
  const db = await resolveDatabase(config, say);
  const app = await startApp(config, db.url);
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
      await db.stop();
      clearTimeout(timer);
      process.exit(0);
    } catch (e) {
      console.error('[commerce] error while stopping', e);
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((e) => {
  console.error('[commerce] failed to start:', e instanceof Error ? e.message : e);
  process.exit(1);
});
