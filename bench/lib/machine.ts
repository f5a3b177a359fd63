import { readdirSync, readFileSync } from 'node:fs';

/** CPU time used so far by every process of the machine, and by the machine as a whole (Linux /proc). */
export interface MachineCpu {
  /** Busy time of all cores together (everything but idle and iowait), ms. */
  busyMs: number;
  /** When it was read: ms since boot. */
  atMs: number;
  /**
   * CPU time (user + system) by process id, with the process's command name, whether it is a kernel
   * thread, when it started (ms since boot) and how long its main thread has waited for a core.
   */
  byPid: Map<number, ProcessCpu>;
}

interface ProcessCpu {
  comm: string;
  kernel: boolean;
  startedMs: number;
  ms: number;
  /** Time its main thread (a Node event loop, a PostgreSQL backend) spent runnable but waiting for a core, ms. */
  waitMs: number;
  /** Times its main thread was put on a core: each wake-up from sleep is one, and so is each return after being preempted. */
  runs: number;
  /**
   * CPU time of its threads but the main one, ms, read for the processes asked for only: in a Node
   * process the V8 platform's workers (the collector's parallel and concurrent work) and libuv's pool.
   */
  helperMs?: number;
}

/** Milliseconds per clock tick of /proc's CPU counters (USER_HZ is 100 on Linux). */
const TICK_MS = 10;
/** The `flags` bit of a kernel thread (PF_KTHREAD). */
const PF_KTHREAD = 0x00200000;

/**
 * How long a process's main thread has waited on a run queue, ms, and how many times it was put on a
 * core (/proc/<pid>/schedstat: time on a core and time waiting, in ns, then slices run); zeros where
 * the kernel keeps no schedstat.
 */
function runQueue(pid: string): { waitMs: number; runs: number } {
  try {
    const [, waitNs, slices] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ');
    return { waitMs: Number(waitNs) / 1e6 || 0, runs: Number(slices) || 0 };
  } catch {
    return { waitMs: 0, runs: 0 };
  }
}

/** CPU time (user + system) of a process's threads other than its main thread, ms. */
function helperThreadsMs(pid: string): number {
  let ms = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    if (tid === pid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ms += (Number(fields[11]) + Number(fields[12])) * TICK_MS;
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return ms;
}

/**
 * Reads every process's CPU time and the machine's busy time now; for the processes in `threadsOf`,
 * also the CPU time of their threads other than the main one ({@link ProcessCpu.helperMs}).
 */
export function machineCpu(threadsOf: ReadonlySet<number> = new Set()): MachineCpu {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
  const busyMs = (cpu.reduce((a, b) => a + b, 0) - cpu[3] - (cpu[4] ?? 0)) * TICK_MS;
  const atMs = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 1000;
  const byPid = new Map<number, ProcessCpu>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      // After the command name: state ppid pgrp session tty_nr tpgid flags ... utime (12th) stime (13th) ... starttime (20th).
      byPid.set(Number(entry), {
        comm,
        kernel: (Number(fields[6]) & PF_KTHREAD) !== 0,
        startedMs: Number(fields[19]) * TICK_MS,
        ms: (Number(fields[11]) + Number(fields[12])) * TICK_MS,
        ...runQueue(entry),
        ...(threadsOf.has(Number(entry)) ? { helperMs: helperThreadsMs(entry) } : {}),
      });
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return { busyMs, atMs, byPid };
}

/**
 * Where the machine's CPU went between two readings, in ms by group, how many times each group's main
 * threads were put on a core (`runs`), and how long they waited for one meanwhile (`waits`; on a machine
 * with more runnable work than cores this is what turns into latency). `groupOf` names each process's
 * group (from its pid, command name and whether it is a kernel thread); the other threads of a process
 * whose threads both readings split count as the group `<group> (other threads)`. Processes that started in
 * between count from zero, processes missing from the first reading that had started before it are
 * left out (their time before it cannot be told apart), and the time of processes that ended in
 * between is lost to every group but the machine's total.
 */
export function cpuBetween(
  before: MachineCpu,
  after: MachineCpu,
  groupOf: (pid: number, comm: string, kernel: boolean) => string,
): { busyMs: number; groups: Map<string, number>; waits: Map<string, number>; runs: Map<string, number> } {
  const groups = new Map<string, number>();
  const waits = new Map<string, number>();
  const runs = new Map<string, number>();
  for (const [pid, now] of after.byPid) {
    const was = before.byPid.get(pid);
    const same = was !== undefined && was.startedMs === now.startedMs;
    if (!same && now.startedMs < before.atMs) continue;
    const used = now.ms - (same ? was.ms : 0);
    const waited = now.waitMs - (same ? was.waitMs : 0);
    const ran = now.runs - (same ? was.runs : 0);
    if (used <= 0 && waited <= 0 && ran <= 0) continue;
    const group = groupOf(pid, now.comm, now.kernel);
    // Where both readings split a process's threads, its other threads' time is a group of its own.
    const helpers = now.helperMs !== undefined && (!same || was.helperMs !== undefined) ? now.helperMs - (same ? was.helperMs! : 0) : 0;
    if (helpers > 0) groups.set(`${group} (other threads)`, (groups.get(`${group} (other threads)`) ?? 0) + helpers);
    if (used - helpers > 0) groups.set(group, (groups.get(group) ?? 0) + used - helpers);
    if (waited > 0) waits.set(group, (waits.get(group) ?? 0) + waited);
    if (ran > 0) runs.set(group, (runs.get(group) ?? 0) + ran);
  }
  return { busyMs: after.busyMs - before.busyMs, groups, waits, runs };
}
