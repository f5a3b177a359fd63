import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Pool } from 'pg';
import type { LoadResult } from './load';
import { RESULTS_DIR, ROOT } from './settings';
import { round } from './stats';

/** One line of the results: a measured value, the ceiling measured in the same run, and the goal. */
export interface ScenarioResult {
  name: string;
  value: number;
  unit: string;
  /** The ceiling's value, in the same unit (null when the ceiling could not be measured). */
  ceiling: number | null;
  /** What the ceiling is. */
  ceilingName: string;
  /** value / ceiling. */
  ratio: number | null;
  /** The goal, in words (e.g. ">= 0.6x the ceiling"). */
  goal: string;
  met: boolean;
  /** Throughput (per second) and latency (ms) of the run behind the value, when it has them. */
  throughput?: number;
  p50Ms?: number;
  p99Ms?: number;
  /** What exactly was measured, and anything a reader must know (errors, rates not reached). */
  notes?: string;
}

export interface Machine {
  cores: number;
  cpuModel: string;
  memoryGb: number;
  os: string;
  /**
   * Whether the kernel shares the cores out by session first (autogroup: on, off, or unknown where the
   * kernel has no such setting): the bench starts each server in a session of its own (see startServer).
   */
  autogroup: 'on' | 'off' | 'unknown';
  node: string;
  postgres: string;
  redis: string;
  packages: Record<string, string>;
  /** 1-minute load average when the run started (others' work on the machine shows here). */
  loadAverageAtStart: number;
  /** The commit measured (git, else BENCH_COMMIT), with `+changes` when the working tree differs. */
  commit: string;
}

function commitOf(): string {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  if (head.status !== 0) return process.env.BENCH_COMMIT ?? 'unknown';
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no', '--', 'src', 'migrations'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
  return head.stdout.trim() + (dirty ? '+changes' : '');
}

const PACKAGES = [
  '@apollo/server',
  '@as-integrations/fastify',
  'fastify',
  'graphql',
  'type-graphql',
  'graphql-ws',
  'ws',
  '@mikro-orm/core',
  'pg',
  'ioredis',
  'graphql-redis-subscriptions',
  'graphile-worker',
  'autocannon',
];

function autogroupSetting(): Machine['autogroup'] {
  try {
    return readFileSync('/proc/sys/kernel/sched_autogroup_enabled', 'utf8').trim() === '1' ? 'on' : 'off';
  } catch {
    return 'unknown';
  }
}

/** Describes the machine and the versions of what ran. */
export async function describeMachine(pool: Pool, redisVersion: string): Promise<Machine> {
  const cpus = os.cpus();
  const packages: Record<string, string> = {};
  for (const name of PACKAGES) {
    try {
      packages[name] = (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      packages[name] = 'missing';
    }
  }
  const { rows } = await pool.query<{ server_version: string }>('show server_version');
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGb: round(os.totalmem() / 1024 ** 3),
    os: `${os.type()} ${os.release()}`,
    autogroup: autogroupSetting(),
    node: process.version,
    postgres: rows[0].server_version,
    redis: redisVersion,
    packages,
    loadAverageAtStart: round(os.loadavg()[0]),
    commit: commitOf(),
  };
}

const fmt = (x: number | null | undefined, unit = ''): string => (x === null || x === undefined || Number.isNaN(x) ? '-' : `${round(x)}${unit}`);

/** Writes bench/results/latest.json and latest.md. */
export function writeResults(
  machine: Machine,
  scenarios: ScenarioResult[],
  notRun: Array<{ group: string; reason: string }>,
  meta: { smoke: boolean; startedAt: Date; seconds: number },
): { json: string; md: string } {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const json = path.join(RESULTS_DIR, 'latest.json');
  const md = path.join(RESULTS_DIR, 'latest.md');
  const rounded = scenarios.map((s) => ({
    ...s,
    value: round(s.value),
    ceiling: s.ceiling === null ? null : round(s.ceiling),
    ratio: s.ratio === null ? null : round(s.ratio),
    throughput: s.throughput === undefined ? undefined : round(s.throughput),
    p50Ms: s.p50Ms === undefined ? undefined : round(s.p50Ms),
    p99Ms: s.p99Ms === undefined ? undefined : round(s.p99Ms),
  }));
  writeFileSync(json, JSON.stringify({ date: meta.startedAt.toISOString(), smoke: meta.smoke, seconds: Math.round(meta.seconds), machine, scenarios: rounded, notRun }, null, 2) + '\n');

  const lines = [
    `# Benchmark results${meta.smoke ? ' (SMOKE RUN: tiny sizes, not figures to quote)' : ''}`,
    '',
    `${meta.startedAt.toISOString()}, ${Math.round(meta.seconds)} s. Machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGb} GB, ${machine.os} (scheduler autogroup ${machine.autogroup}); ` +
      `Node ${machine.node}, PostgreSQL ${machine.postgres}, Redis ${machine.redis}; load average at start ${machine.loadAverageAtStart}; commit ${machine.commit}.`,
    '',
    '| scenario | value | throughput /s | p50 ms | p99 ms | ceiling | ratio | goal | met |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rounded.map(
      (s) =>
        `| ${s.name} | ${fmt(s.value)} ${s.unit} | ${fmt(s.throughput)} | ${fmt(s.p50Ms)} | ${fmt(s.p99Ms)} | ${fmt(s.ceiling)} (${s.ceilingName}) | ${fmt(s.ratio)} | ${s.goal} | ${s.met ? 'yes' : '**no**'} |`,
    ),
    '',
    ...(notRun.length ? ['## Not run', '', ...notRun.map((n) => `- **${n.group}**: ${n.reason}`), ''] : []),
    '## Notes',
    '',
    ...rounded.filter((s) => s.notes).map((s) => `- **${s.name}**: ${s.notes}`),
    '',
    `Packages: ${Object.entries(machine.packages).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
    '',
  ];
  writeFileSync(md, lines.join('\n'));
  return { json, md };
}

/** A throughput line: verified answers per second against a ceiling's, with a minimum ratio as goal. */
export function throughputResult(name: string, r: LoadResult, ceiling: { rps: number }, ceilingName: string, minRatio: number, extraNotes = ''): ScenarioResult {
  const ratio = ceiling.rps > 0 ? r.rps / ceiling.rps : null;
  const failures = r.failed > 0 ? `${r.failed} failed answers (first: ${r.firstFailure ?? 'socket error or timeout'}). ` : '';
  return {
    name,
    value: r.rps,
    unit: 'req/s',
    ceiling: ceiling.rps,
    ceilingName,
    ratio,
    goal: `>= ${minRatio}x`,
    met: r.failed === 0 && ratio !== null && ratio >= minRatio,
    throughput: r.rps,
    p50Ms: r.p50,
    p99Ms: r.p99,
    notes: (failures + extraNotes).trim() || undefined,
  };
}

/** A run shown for reference (the ceiling of another line), with no goal of its own. */
export function referenceResult(name: string, r: LoadResult, notes?: string): ScenarioResult {
  const failures = r.failed > 0 ? `${r.failed} failed answers (first: ${r.firstFailure ?? 'socket error or timeout'}). ` : '';
  return {
    name,
    value: r.rps,
    unit: 'req/s',
    ceiling: null,
    ceilingName: 'none: reference',
    ratio: null,
    goal: 'reference',
    met: r.failed === 0,
    throughput: r.rps,
    p50Ms: r.p50,
    p99Ms: r.p99,
    notes: (failures + (notes ?? '')).trim() || undefined,
  };
}

/**
 * A latency line: a closed loop's mean latency against a ceiling run's (the same load on a smaller
 * table), goal `maxRatio` at most. Both runs are at 32 connections.
 */
export function latencyRatio(name: string, r: LoadResult, ceiling: LoadResult, ceilingName: string, maxRatio: number): ScenarioResult {
  const ratio = r.mean / ceiling.mean;
  const failures = r.failed + ceiling.failed > 0 ? `${r.failed + ceiling.failed} failed answers (first: ${r.firstFailure ?? ceiling.firstFailure}). ` : '';
  return {
    name,
    value: r.mean,
    unit: 'ms mean latency',
    ceiling: ceiling.mean,
    ceilingName,
    ratio,
    goal: `<= ${maxRatio}x`,
    met: r.failed + ceiling.failed === 0 && ratio <= maxRatio,
    throughput: r.rps,
    p50Ms: r.p50,
    p99Ms: r.p99,
    notes:
      `${failures}Small table: ${ceiling.rps.toFixed(0)} req/s, p50 ${ceiling.p50} ms, p99 ${ceiling.p99} ms. ` +
      'Mean latency of a closed loop at 32 connections (the inverse of throughput); ratio = big / small.',
  };
}
