import type { Config } from './config';

/** The database to use: `DATABASE_URL`, or an embedded PostgreSQL under the data folder. */
export async function resolveDatabase(config: Config, log: (m: string) => void): Promise<{ url: string; stop(): Promise<void> }> {
  if (config.databaseUrl) return { url: config.databaseUrl, stop: async () => undefined };
  log(`DATABASE_URL is unset: using an embedded PostgreSQL under ${config.dataDir}`);
  // Loaded only when used: servers given DATABASE_URL never touch the embedded binaries.
  const { startEmbeddedDatabase } = await import('./infra/embedded-db.js');
  return startEmbeddedDatabase(config.dataDir, 'commerce', log);
}
