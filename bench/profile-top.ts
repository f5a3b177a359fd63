/**
 * Summarises V8 CPU profiles written by `npm run bench -- --profile` (bench/results/profiles):
 * self time by part of the stack (ORM, driver, GraphQL, ...), by package and by function, heaviest
 * first, as shares of the sampled time and of the busy (non-idle) time.
 *
 *   npx tsx bench/profile-top.ts bench/results/profiles/api-*.cpuprofile
 *   TOP=60 npx tsx bench/profile-top.ts --md <file>    markdown tables (for bench/results/*.md)
 *   npx tsx bench/profile-top.ts --skip=5 <file>        leaves out the first 5 s (start-up: module loading)
 *   npx tsx bench/profile-top.ts --last=16 <file>       only the last 16 s (e.g. `--only=pay --seconds=5`: the
 *                                                       API's last 16 s are its four runs, warm-ups included)
 *   npx tsx bench/profile-top.ts --window=FROM,TO <file>  only samples between two instants of the machine's
 *                                                       monotonic clock, in µs (the fan-out scenario prints
 *                                                       each step's window with --profile, the orders
 *                                                       scenario each part's); more pairs (FROM,TO,FROM,TO...)
 *                                                       take the samples of every window they give
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const where = (url: string): string => {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  if (url.includes('/dist/src/') || url.includes('/src/')) return 'app';
  if (url.startsWith('node:') || url === '') return url || '(native/gc)';
  return url.replace(/^file:\/\//, '');
};

/** Parts of the stack the issue's analysis talks about, by package name (first match wins). */
const PARTS: Array<[string, RegExp]> = [
  // knex's own dependencies (lodash, tarn: its pool) and MikroORM's (sqlstring) count with them.
  ['MikroORM / knex', /^(@mikro-orm\/.*|knex|dataloader|reflect-metadata|lodash|tarn|sqlstring|colorette|getopts)$/],
  ['pg (driver)', /^(pg|pg-protocol|pg-pool|pg-types|pg-connection-string|postgres-.*|pgpass|buffer-writer|packet-reader)$/],
  ['graphql (execution, validation)', /^graphql$/],
  ['type-graphql', /^(type-graphql|@graphql-tools\/.*|class-validator|graphql-query-complexity)$/],
  ['Apollo Server', /^(@apollo\/.*|@as-integrations\/.*|lru-cache|@graphql-yoga\/.*)$/],
  ['fastify', /^(fastify|@fastify\/.*|find-my-way|light-my-request|avvio|fast-json-stringify|secure-json-parse|fast-querystring|process-warning|abstract-logging|toad-cache)$/],
  ['logging (pino)', /^(pino|pino-std-serializers|sonic-boom|thread-stream|quick-format-unescaped|atomic-sleep|on-exit-leak-free|real-require|safe-stable-stringify)$/],
  ['jose (tokens)', /^jose$/],
  ['graphile-worker', /^(graphile-worker|@graphile\/.*)$/],
  ['Redis (ioredis)', /^(ioredis|graphql-redis-subscriptions|redis-parser|@ioredis\/.*|cluster-key-slot|denque|standard-as-callback)$/],
  ['graphql-ws / ws', /^(graphql-ws|ws)$/],
  ['zod', /^zod$/],
  ['our code (dist/src)', /^app$/],
];

/** A sample's part: idle and GC by name; V8's built-ins and Node's C++ bindings as native; node: modules as Node core. */
function partOf(n: Node): string {
  const fn = n.callFrame.functionName;
  if (fn === '(idle)') return '(idle)';
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)') return '(program: V8 outside JS)';
  const pkg = where(n.callFrame.url);
  if (pkg === '(native/gc)') return 'native (V8 built-ins, C++ bindings: socket writes, JSON, crypto)';
  if (pkg.startsWith('node:')) return 'Node core (net, streams, http, timers)';
  for (const [name, re] of PARTS) if (re.test(pkg)) return name;
  return `other: ${pkg}`;
}

const md = process.argv.includes('--md');
const skipArg = process.argv.find((a) => a.startsWith('--skip='));
const skipUs = skipArg ? Number(skipArg.slice('--skip='.length)) * 1e6 : 0;
const lastArg = process.argv.find((a) => a.startsWith('--last='));
const lastUs = lastArg ? Number(lastArg.slice('--last='.length)) * 1e6 : Infinity;
const windowArg = process.argv.find((a) => a.startsWith('--window='));
const windowBounds = windowArg ? windowArg.slice('--window='.length).split(',').map(Number) : [-Infinity, Infinity];
if (windowBounds.length % 2 !== 0 || windowBounds.some(Number.isNaN)) throw new Error('--window takes pairs of instants: FROM,TO[,FROM,TO...]');
const windows = Array.from({ length: windowBounds.length / 2 }, (_, i) => [windowBounds[2 * i], windowBounds[2 * i + 1]] as const);
const inWindow = (instant: number): boolean => windows.some(([from, to]) => instant >= from && instant <= to);
const files = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const TOP = Number(process.env.TOP ?? 25);

for (const file of files) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  const span = p.timeDeltas.reduce((a, b) => a + b, 0);
  const from = Math.max(skipUs, span - lastUs);
  let at = 0;
  p.samples.forEach((id, i) => {
    at += p.timeDeltas[i] ?? 0;
    // startTime is on the monotonic clock (µs), as process.hrtime is.
    const instant = p.startTime + at;
    if (at >= from && inWindow(instant)) self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const name = (n: Node) => `${n.callFrame.functionName || '(anonymous)'} ${where(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  const byFn = new Map<string, number>();
  const byPkg = new Map<string, number>();
  const byPart = new Map<string, number>();
  let idle = 0;
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const add = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + us);
    add(byFn, name(n));
    add(byPkg, where(n.callFrame.url));
    const part = partOf(n);
    add(byPart, part);
    if (part === '(idle)') idle += us;
  }
  const busy = total - idle;
  // Native and Node-core time (socket writes, streams) charged to the nearest library or app frame
  // that called it: "pg (driver)" here is the driver's writes, one per statement.
  const parentOf = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const lowLevel = (part: string) => part.startsWith('native') || part.startsWith('Node core');
  const byCaller = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const part = partOf(n);
    if (!lowLevel(part)) continue;
    const fn = n.callFrame.functionName || '(anonymous)';
    let caller = '(no library frame: event loop, timers)';
    for (let cur = parentOf.get(id); cur !== undefined; cur = parentOf.get(cur)) {
      const cp = partOf(byId.get(cur)!);
      if (!lowLevel(cp) && !cp.startsWith('(')) {
        caller = cp;
        break;
      }
    }
    const key = `${caller} -> ${/^(writeBuffer|writev|writeUtf8String|writeString|writeLatin1String)$/.test(fn) ? 'socket writes' : 'other native/Node core'}`;
    byCaller.set(key, (byCaller.get(key) ?? 0) + us);
  }
  // Inclusive time: each sample counts once for every distinct function on its stack.
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, number>();
  for (const [id, us] of self) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const key = name(byId.get(cur)!);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  const pct = (us: number, of: number) => `${((100 * us) / of).toFixed(1)}%`;
  const sorted = (m: Map<string, number>, k: number) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, k);
  const header = `${file}: ${(total / 1e6).toFixed(1)} s sampled${from > 0 ? ` from ${(from / 1e6).toFixed(1)} s of ${(span / 1e6).toFixed(1)} s` : ''}${windowArg ? ` in the window ${windowArg.slice('--window='.length)}` : ''}, ${pct(idle, total)} idle (${(busy / 1e6).toFixed(1)} s busy)`;
  if (md) {
    const table = (title: string, m: Map<string, number>, k: number, busyShare: boolean) =>
      [
        `| ${title} | self, % of sampled | ${busyShare ? 'self, % of busy |' : ''}`,
        `|---|---|${busyShare ? '---|' : ''}`,
        ...sorted(m, k).map(([key, us]) => `| ${key.replace(/\|/g, '\\|')} | ${pct(us, total)} | ${busyShare ? `${key === '(idle)' ? '-' : pct(us, busy)} |` : ''}`),
      ].join('\n');
    console.log(`\n${header}\n\n${table('part of the stack', byPart, 30, true)}\n\n${table('native and Node core, by the library that called it', byCaller, 20, true)}\n\n${table('package', byPkg, 20, true)}\n\n${table('function (self)', byFn, TOP, true)}\n\n${table('function (inclusive)', inclusive, TOP, false)}\n`);
  } else {
    const lines = (m: Map<string, number>, k: number) => sorted(m, k).map(([key, us]) => `  ${pct(us, total).padStart(6)} ${(key === '(idle)' ? '' : pct(us, busy)).padStart(6)}  ${key}`);
    console.log(
      `\n${header}\n (columns: % of sampled, % of busy)\n by part of the stack:\n${lines(byPart, 30).join('\n')}\n native and Node core, by the library that called it:\n${lines(byCaller, 20).join('\n')}\n by package:\n${lines(byPkg, 20).join('\n')}\n` +
        ` by function (self):\n${lines(byFn, TOP).join('\n')}\n by function (inclusive):\n${lines(inclusive, Number(process.env.TOP ?? 40)).join('\n')}`,
    );
  }
}
