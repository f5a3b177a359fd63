import autocannon from 'autocannon';
import { combinedLatency } from './stats';

/** One GraphQL request to send: its JSON body and extra headers (a token). */
export interface GqlRequest {
  body: string;
  headers?: Record<string, string>;
}

/** What a closed-loop HTTP run measured. Latencies in ms; only answers that passed `verify` count as done. */
export interface LoadResult {
  connections: number;
  seconds: number;
  /** Verified answers per second. */
  rps: number;
  p50: number;
  p99: number;
  mean: number;
  ok: number;
  /** Non-2xx answers, answers that failed verification, socket errors and timeouts. */
  failed: number;
  firstFailure?: string;
  /** CPU time the measured server used during the measured run (ms), when asked for with `cpuOf`. */
  serverCpuMs?: number;
  /** CPU time the load generator itself (this process) used during the measured run (ms). */
  clientCpuMs?: number;
}

/** An answer is good when it carries data and no GraphQL error. */
export const okGraphql = (body: string): boolean => body.startsWith('{"data":') && !body.includes('"errors":');

/**
 * Closed-loop load with autocannon: `connections` clients each send one request, wait for the answer,
 * send the next. `next()` supplies each request (rotating bodies and tokens); a warm-up run with the
 * same settings precedes the measured one and is discarded. With `cpuOf` (the server's CPU clock, ms)
 * it also reports the server's CPU time over the measured run: per request, a figure a busy machine
 * disturbs far less than throughput.
 */
export async function httpLoad(opts: {
  url: string;
  connections: number;
  seconds: number;
  warmupSeconds: number;
  next: () => GqlRequest;
  verify?: (body: string) => boolean;
  cpuOf?: () => number;
}): Promise<LoadResult> {
  if (opts.warmupSeconds > 0) await once({ ...opts, seconds: opts.warmupSeconds });
  const cpuBefore = opts.cpuOf?.();
  const r = await once(opts);
  return cpuBefore === undefined ? r : { ...r, serverCpuMs: opts.cpuOf!() - cpuBefore };
}

/**
 * One result of several runs of the same load taken at different moments (e.g. interleaved with
 * another load, so slow drifts of a shared machine fall on both alike): answers, seconds and CPU add
 * up; the latency as {@link combinedLatency} takes it, weighted by answers.
 */
export function combineLoads(parts: readonly LoadResult[]): LoadResult {
  const ok = parts.reduce((n, r) => n + r.ok, 0);
  const seconds = parts.reduce((n, r) => n + r.seconds, 0);
  const serverCpuMs = totalOf(parts, 'serverCpuMs');
  const clientCpuMs = totalOf(parts, 'clientCpuMs');
  return {
    connections: parts[0].connections,
    seconds,
    rps: ok / seconds,
    ...combinedLatency(parts, parts.map((r) => r.ok)),
    ok,
    failed: parts.reduce((n, r) => n + r.failed, 0),
    firstFailure: parts.find((r) => r.firstFailure)?.firstFailure,
    ...(serverCpuMs === undefined ? {} : { serverCpuMs }),
    ...(clientCpuMs === undefined ? {} : { clientCpuMs }),
  };
}

/** A load's CPU measurements (ms over the measured run). */
type CpuField = 'serverCpuMs' | 'clientCpuMs';

/** The parts' `field` added up, when every part measured it. */
const totalOf = (parts: readonly LoadResult[], field: CpuField): number | undefined =>
  parts.every((r) => r[field] !== undefined) ? parts.reduce((n, r) => n + r[field]!, 0) : undefined;

/** `field` per verified answer (NaN when not measured or nothing was answered). */
const perAnswer = (r: LoadResult, field: CpuField): number => {
  const ms = r[field];
  return ms === undefined || r.ok === 0 ? NaN : ms / r.ok;
};

/** The server's CPU ms per verified answer of a run measured with `cpuOf` (NaN without). */
export const cpuPerAnswer = (r: LoadResult): number => perAnswer(r, 'serverCpuMs');

/** The load generator's own CPU ms per verified answer (NaN when not measured). */
export const clientCpuPerAnswer = (r: LoadResult): number => perAnswer(r, 'clientCpuMs');

async function once(opts: { url: string; connections: number; seconds: number; next: () => GqlRequest; verify?: (body: string) => boolean }): Promise<LoadResult> {
  const verify = opts.verify ?? okGraphql;
  let firstFailure: string | undefined;
  let verified = 0;
  const cpuBefore = process.cpuUsage();
  const result = await autocannon({
    url: `${opts.url}/graphql`,
    connections: opts.connections,
    duration: opts.seconds,
    pipelining: 1,
    timeout: 30,
    requests: [
      {
        method: 'POST',
        path: '/graphql',
        setupRequest: (req: Record<string, unknown>) => {
          const r = opts.next();
          req.body = r.body;
          req.headers = { 'content-type': 'application/json', ...(r.headers ?? {}) };
          return req;
        },
      },
    ],
    verifyBody: (body: string) => {
      const good = verify(body);
      if (good) verified++;
      else firstFailure ??= body.slice(0, 400);
      return good;
    },
  });
  const cpu = process.cpuUsage(cpuBefore);
  const failed = Math.max(0, result.requests.total - verified) + result.errors + result.timeouts;
  return {
    clientCpuMs: (cpu.user + cpu.system) / 1000,
    connections: opts.connections,
    seconds: result.duration,
    rps: verified / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    mean: result.latency.average,
    ok: verified,
    failed,
    firstFailure,
  };
}
