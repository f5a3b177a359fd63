import type { Config } from './config';
import { startEmbeddedDatabase } from './infra/embedded-db';

/** The database to use: `DATABASE_URL`, or an embedded PostgreSQL under the data folder. */
export async function resolveDatabase(config: Config, log: (m: string) => void): Promise<{ url: string; stop(): Promise<void> }> {
  if (config.databaseUrl) return { url: config.databaseUrl, stop: async () => undefined };
  log(`DATABASE_URL is unset: using an embedded PostgreSQL under ${config.dataDir}`);
  return startEmbeddedDatabase(config.dataDir, 'commerce', log);
}
