import 'reflect-metadata';
import { loadConfig } from '../src/config';
import { resolveDatabase } from '../src/database';
import { entities } from '../src/entities';
import { migrateJobs } from '../src/infra/jobs';
import { initOrm, migrate } from '../src/infra/orm';

/** Applies pending migrations (ours and graphile-worker's) to DATABASE_URL or the embedded database. */
async function main() {
  const config = loadConfig();
  const db = await resolveDatabase(config, console.log);
  const orm = await initOrm(entities, db.url, 2);
  try {
    const pending = await orm.getMigrator().getPendingMigrations();
    await migrate(orm);
    await migrateJobs(db.url);
    console.log(`applied ${pending.length} migration(s)`);
  } finally {
    await orm.close();
    await db.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
