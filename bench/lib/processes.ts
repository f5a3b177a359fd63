import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './settings';

/** A failure to start or reach what the bench needs: reported as such, never as a number. */
export class BenchSetupError extends Error {}

/** The soft and hard open-file limits this process (and its children) run with. */
export function fileLimits(): { soft: number; hard: number } {
  const read = (flag: string) => Number(spawnSync('sh', ['-c', `ulimit ${flag}`], { encoding: 'utf8' }).stdout.trim());
  const soft = read('-Sn');
  const hard = read('-Hn');
  return { soft: Number.isFinite(soft) ? soft : 1024, hard: Number.isFinite(hard) ? hard : soft };
}

export { freePort } from '../../src/infra/free-port';

/** Resident set size of a process, in bytes (Linux /proc). */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** CPU time (user + system) a process has used so far, in ms (Linux /proc; 10 ms ticks). */
export function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** A child process started by the bench, with its recent output kept for error messages. */
export interface Child {
  name: string;
  proc: ChildProcess;
  pid: number;
  /** The last lines it printed. */
  tail(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
  /** Stops it from running (SIGSTOP) until {@link Child.resume}: it then takes no CPU at all. */
  pause(): void;
  /** Lets a paused child run again (SIGCONT). */
  resume(): void;
  exited: Promise<number | null>;
}

const children = new Set<Child>();
// However the bench ends, a crash included (an exception thrown in an event handler skips every
// `finally` and `stopAllChildren`), nothing it started outlives it: a server left running would hold
// its port and database connections and take CPU from the next run.
process.on('exit', () => {
  for (const c of children) terminate(c.proc);
});

/** Asks a child to stop (SIGTERM); SIGCONT after it, since a paused child acts on SIGTERM only once it runs again. */
function terminate(proc: ChildProcess): void {
  proc.kill('SIGTERM');
  proc.kill('SIGCONT');
}

/**
 * Starts `command args` with the open-file soft limit raised to the hard limit (tens of thousands of
 * sockets need it), output captured. With `session`, in a session of its own (setsid), as a service
 * manager starts a service: see {@link startServer}.
 */
export function startChild(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, opts: { echo?: boolean; ipc?: boolean; session?: boolean } = {}): Child {
  const { hard } = fileLimits();
  const proc = spawn('sh', ['-c', `ulimit -n ${hard} 2>/dev/null; exec "$@"`, 'sh', command, ...args], {
    cwd: ROOT,
    env,
    stdio: opts.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    detached: opts.session === true,
  });
  const lines: string[] = [];
  const logFile = process.env.BENCH_LOG_DIR ? path.join(process.env.BENCH_LOG_DIR, `${name}-${proc.pid}.log`) : null;
  if (logFile) mkdirSync(path.dirname(logFile), { recursive: true });
  const keep = (chunk: Buffer) => {
    if (logFile) appendFileSync(logFile, chunk);
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      lines.push(line);
      if (lines.length > 40) lines.shift();
      if (opts.echo) console.log(`  [${name}] ${line}`);
    }
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const child: Child = {
    name,
    proc,
    pid: proc.pid!,
    tail: () => lines.join('\n'),
    exited,
    async stop(graceMs = 10_000) {
      if (proc.exitCode === null && proc.signalCode === null) {
        terminate(proc);
        const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      children.delete(child);
    },
    pause: () => void proc.kill('SIGSTOP'),
    resume: () => void proc.kill('SIGCONT'),
  };
  children.add(child);
  void exited.then(() => children.delete(child));
  return child;
}

/**
 * Starts a server measured by the bench (the API, Apollo's hello) in a session of its own, as a service
 * manager (systemd, a container runtime) starts each service. Where the kernel schedules by session
 * (autogroup, on by default on desktop and many server kernels: /proc/sys/kernel/sched_autogroup_enabled),
 * each session gets one share of the cores, split among its processes: every PostgreSQL backend has its
 * own (each calls setsid), as has Redis, while a server left in the bench's session shared one share with
 * the bench's load generators and with the other instance, so two instances were given the cores of
 * one. On a kernel without autogroup this changes nothing. BENCH_NO_SESSION=1 leaves them in the
 * bench's session, to measure what the difference does.
 */
export function startServer(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): Child {
  return startChild(name, command, args, env, { session: !process.env.BENCH_NO_SESSION });
}

/** Stops every child still running (on exit or failure). */
export async function stopAllChildren(): Promise<void> {
  await Promise.all([...children].map((c) => c.stop(3_000)));
}

/** Polls `url` until it answers 200, the child exits, or `timeoutMs` passes. */
export async function waitReady(child: Child, url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void child.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new BenchSetupError(`${child.name} exited before it was ready:\n${child.tail()}`);
    try {
      const res = await fetch(url);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new BenchSetupError(`${child.name} was not ready at ${url} within ${timeoutMs} ms:\n${child.tail()}`);
}

/** Runs a command to completion, throwing with its output on failure. */
export function runOrThrow(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(command, args, { cwd: ROOT, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) {
    throw new BenchSetupError(`${command} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${(r.stderr || r.stdout || String(r.error ?? '')).slice(-4000)}`);
  }
  return r.stdout;
}
