import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BenchSetupError } from './processes';
import { percentile } from './stats';

/** The pgbench that ships with PostgreSQL: on PATH, else under /usr/lib/postgresql/<version>/bin. */
export function findPgbench(): string {
  const onPath = spawnSync('sh', ['-c', 'command -v pgbench'], { encoding: 'utf8' }).stdout.trim();
  if (onPath) return onPath;
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    for (const v of readdirSync(root).sort().reverse()) {
      const p = path.join(root, v, 'bin', 'pgbench');
      if (existsSync(p)) return p;
    }
  }
  throw new BenchSetupError('pgbench not found (PATH or /usr/lib/postgresql/*/bin): install the PostgreSQL client tools');
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
 * logging every transaction to compute percentiles. Non-zero exit or aborted clients throw.
 */
export async function pgbench(databaseUrl: string, script: string, clients: number, seconds: number): Promise<PgbenchResult> {
  const bin = findPgbench();
  const u = new URL(databaseUrl);
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
    '-f',
    script,
    '-l',
    `--log-prefix=${path.join(dir, 'tx')}`,
    '-h',
    u.hostname,
    '-p',
    u.port || '5432',
    '-U',
    decodeURIComponent(u.username || 'postgres'),
    decodeURIComponent(u.pathname.slice(1)),
  ];
  const env = { ...process.env, ...(u.password ? { PGPASSWORD: decodeURIComponent(u.password) } : {}) };
  try {
    const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const p = spawn(bin, args, { env, cwd: dir });
      let out = '';
      p.stdout.on('data', (c: Buffer) => (out += c.toString()));
      p.stderr.on('data', (c: Buffer) => (out += c.toString()));
      p.on('exit', (c) => resolve({ code: c, out }));
    });
    const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(out);
    if (code !== 0 || !tps) {
      const firstError = out.split('\n').find((l) => /error/i.test(l)) ?? '';
      throw new Error(`pgbench failed (exit ${code}): ${firstError}\n${out.slice(-2000)}`);
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
