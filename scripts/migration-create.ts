import 'reflect-metadata';
import { loadConfig } from '../src/config';
import { resolveDatabase } from '../src/database';
import { entities } from '../src/entities';
import { initOrm, migrate } from '../src/infra/orm';
import { MIGRATIONS_DIR as DIR, writeIndex } from './migration-index';

/** Diffs the entities against a migrated database and writes the difference as a new migration. */
async function main() {
  const config = loadConfig();
  const db = await resolveDatabase(config, console.log);
  const orm = await initOrm(entities, db.url, 2);
  try {
    await migrate(orm);
    const result = await orm.getMigrator().createMigration(DIR, false, false, process.argv[2]);
    if (!result.fileName) console.log('no changes: entities match the migrations');
    else console.log(`created migrations/${result.fileName}`);
    writeIndex();
  } finally {
    await orm.close();
    await db.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
