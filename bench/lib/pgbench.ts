import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BenchSetupError } from './processes';
import { combinedLatency, percentile } from './stats';

/** A client tool that ships with PostgreSQL (pgbench, psql): on PATH, else under /usr/lib/postgresql/<version>/bin. */
export function findPgTool(name: 'pgbench' | 'psql'): string {
  const onPath = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
  if (onPath) return onPath;
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    for (const v of readdirSync(root).sort().reverse()) {
      const p = path.join(root, v, 'bin', name);
      if (existsSync(p)) return p;
    }
  }
  throw new BenchSetupError(`${name} not found (PATH or /usr/lib/postgresql/*/bin): install the PostgreSQL client tools`);
}

export const findPgbench = (): string => findPgTool('pgbench');

/** Connection arguments (-h -p -U) and environment (PGPASSWORD) for a PostgreSQL tool, from a URL. */
export function pgConnection(databaseUrl: string): { args: string[]; database: string; env: NodeJS.ProcessEnv } {
  const u = new URL(databaseUrl);
  return {
    args: ['-h', u.hostname, '-p', u.port || '5432', '-U', decodeURIComponent(u.username || 'postgres')],
    database: decodeURIComponent(u.pathname.slice(1)),
    env: { ...process.env, ...(u.password ? { PGPASSWORD: decodeURIComponent(u.password) } : {}) },
  };
}

/**
 * Runs a SQL file with psql (ON_ERROR_STOP, `vars` as psql variables); throws with its output when
 * it fails.
 */
export function psqlFile(databaseUrl: string, file: string, vars: Record<string, string | number> = {}): void {
  const conn = pgConnection(databaseUrl);
  const args = ['-X', '-q', '-v', 'ON_ERROR_STOP=1', ...Object.entries(vars).flatMap(([k, v]) => ['-v', `${k}=${v}`]), ...conn.args, '-f', file, conn.database];
  const r = spawnSync(findPgTool('psql'), args, { env: conn.env, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`psql -f ${file} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout || String(r.error ?? '')).slice(-2000)}`);
}

/** What one pgbench run measured. Latencies in ms, from its per-transaction log. */
export interface PgbenchResult {
  clients: number;
  tps: number;
  p50: number;
  p99: number;
  mean: number;
  transactions: number;
  failed: number;
  /** pgbench's own summary, for the record. */
  summary: string;
}

/**
 * Runs `script` with pgbench -M prepared at `clients` connections for `seconds` against `databaseUrl`,
 * logging every transaction to compute percentiles; `defines` become `-D name=value`. Non-zero exit
 * (errors in the script, aborted clients) throws; a run that processed nothing measures 0 tps.
 */
export async function pgbench(databaseUrl: string, script: string, clients: number, seconds: number, defines: Record<string, string | number> = {}): Promise<PgbenchResult> {
  const bin = findPgbench();
  const conn = pgConnection(databaseUrl);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-pgbench-'));
  const args = [
    '-n',
    '-M',
    'prepared',
    '-c',
    String(clients),
    '-j',
    String(Math.min(clients, os.cpus().length)),
    '-T',
    String(Math.max(1, Math.round(seconds))),
    ...Object.entries(defines).flatMap(([k, v]) => ['-D', `${k}=${v}`]),
    '-f',
    script,
    '-l',
    `--log-prefix=${path.join(dir, 'tx')}`,
    ...conn.args,
    conn.database,
  ];
  const env = conn.env;
  try {
    const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const p = spawn(bin, args, { env, cwd: dir });
      let out = '';
      p.stdout.on('data', (c: Buffer) => (out += c.toString()));
      p.stderr.on('data', (c: Buffer) => (out += c.toString()));
      p.on('exit', (c) => resolve({ code: c, out }));
    });
    // A run shorter than its clients' connecting (a loaded machine, a 1 s warm-up) processes nothing
    // and prints no tps: that is 0 tps, for the caller to judge.
    const none = code === 0 && /number of transactions actually processed: 0\b/.test(out);
    const tps = none ? ['', '0'] : /tps = ([\d.]+) \(without initial connection time\)/.exec(out);
    if (code !== 0 || !tps) {
      const lines = out.split('\n').filter((l) => l.trim());
      // The first line is what the report shows: the error, else what pgbench last said.
      const reason = lines.find((l) => /error|abort/i.test(l)) ?? (code === 0 ? `no tps reported (${lines.filter((l) => /^(number of transactions|initial connection)/.test(l)).join('; ') || lines.at(-1) || 'no output'})` : lines.at(-1) ?? 'no output');
      throw new Error(`pgbench -c ${clients} -T ${Math.max(1, Math.round(seconds))} -f ${path.basename(script)} failed (exit ${code}): ${reason}\n${out.slice(-2000)}`);
    }
    const latencies: number[] = [];
    for (const f of readdirSync(dir)) {
      for (const line of readFileSync(path.join(dir, f), 'utf8').split('\n')) {
        const cols = line.split(' ');
        if (cols.length >= 3 && /^\d+$/.test(cols[2])) latencies.push(Number(cols[2]) / 1000);
      }
    }
    const failedMatch = /number of failed transactions: (\d+)/.exec(out);
    const mean = latencies.reduce((s, x) => s + x, 0) / (latencies.length || 1);
    return {
      clients,
      tps: Number(tps[1]),
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      mean,
      transactions: latencies.length,
      failed: failedMatch ? Number(failedMatch[1]) : 0,
      summary: out.trim().split('\n').filter((l) => /^(number of|latency|tps)/.test(l)).join('; '),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * One result of several pgbench runs of the same script taken at different moments (interleaved with
 * another load): transactions and seconds add up; the latency as {@link combinedLatency} takes it.
 */
export function combinePgbench(parts: readonly PgbenchResult[]): PgbenchResult {
  const transactions = parts.reduce((n, r) => n + r.transactions, 0);
  const seconds = parts.reduce((n, r) => n + (r.tps > 0 ? r.transactions / r.tps : 0), 0);
  return {
    clients: parts[0].clients,
    tps: seconds > 0 ? transactions / seconds : 0,
    ...combinedLatency(parts, parts.map((r) => r.transactions)),
    transactions,
    failed: parts.reduce((n, r) => n + r.failed, 0),
    summary: parts.map((r) => r.summary).join(' | '),
  };
}
