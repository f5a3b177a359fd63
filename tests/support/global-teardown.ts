import { Client } from 'pg';
import { readTestEnv } from './env';

/** Drops the databases this run made, and stops an embedded server if one was started. */
export default async function globalTeardown(): Promise<void> {
  const env = readTestEnv();
  const admin = new Client({ connectionString: env.adminUrl });
  await admin.connect();
  const { rows } = await admin.query<{ datname: string }>(
    `select datname from pg_database where datname like 'commerce_test_%' and datname like '%' || $1`,
    [env.templateDb.replace('commerce_test_tpl_', '')],
  );
  for (const { datname } of rows) await admin.query(`drop database if exists "${datname}" with (force)`).catch(() => undefined);
  await admin.end();
  const embedded = (globalThis as { __embeddedDb?: { stop(): Promise<void> } }).__embeddedDb;
  await embedded?.stop();
}
