import { readFileSync } from 'node:fs';
import path from 'node:path';
import { captureStatements } from '../capture-sql';
import { carefulName } from '../lib/careful';
import type { BenchContext } from '../lib/context';
import { cleanStart } from '../lib/database';
import { introduce } from '../lib/introduce';
import { clientCpuPerAnswer, combineLoads, cpuPerAnswer, httpLoad, type LoadResult } from '../lib/load';
import { cpuBetween, machineCpu } from '../lib/machine';
import { combinePgbench, pgbench, type PgbenchResult } from '../lib/pgbench';
import type { ScenarioResult } from '../lib/report';
import { creditWallets, seedCustomersWithOrders } from '../lib/seed';
import { ROOT, sqlSeconds } from '../lib/settings';
import { tokens } from '../lib/tokens';

const PAY = 'mutation Pay($orderId: ID!) { payWithWallet(orderId: $orderId) { id status version paidAt total { amount currency } delivery { status } } }';
/** Customers whose orders are paid, in turn: per-customer rows (wallet, unpaid count) spread over them. */
const CUSTOMERS = 2_000;
/**
 * Orders pre-created per second of load, on each side: at least these, and more on a machine where the
 * careful ceiling runs faster ({@link ORDERS_OVER_CAREFUL} times its best rate), since neither the API
 * nor its own SQL, which does more per payment, has paid faster than the careful payment in any run.
 */
const HTTP_ORDERS_PER_SECOND = 2_000;
const SQL_ORDERS_PER_SECOND = 5_000;
const ORDERS_OVER_CAREFUL = 1.25;
const SCRIPT = path.join(ROOT, 'bench', 'scenarios', 'pay.pgbench.sql');
/** Concurrency levels, the first the base of the scaling goal. */
const LEVELS = [8, 32] as const;

/** Goals: against the careful ceiling, and against pgbench of the API's own statements. */
const MIN_VS_CAREFUL = 0.25;
const MIN_VS_OWN_SQL = 0.5;

/**
 * payWithWallet end to end (token, parse, validate, unit of work) at 8 and 32 connections, every
 * request paying its own pre-created PENDING order, customers in turn; against two ceilings at the
 * same concurrency: the careful wallet payment in plain SQL (../shared/ceilings/wallet-payment), and
 * pgbench running the API's own SQL (bench/scenarios/pay.pgbench.sql, checked against what the API
 * sends in this run) prepared, on its own orders. The three are measured in halves at both levels, in
 * one sequence mirrored in time, so every ratio compares runs of the same minutes. The paying
 * customers have each made one request before (see {@link introduce}), as customers who created their
 * orders through the API have.
 */
export async function payScenarios(ctx: BenchContext): Promise<ScenarioResult[]> {
  const { sizes, pool, base } = ctx;
  const careful = await ctx.careful();
  const secondsPerLevel = sizes.warmup + Math.max(sizes.duration, sqlSeconds(sizes));
  const fastestCareful = Math.max(...[...careful.byClients.values()].map((r) => r.tps)) * ORDERS_OVER_CAREFUL;
  const perCustomer = (perSecond: number) => Math.ceil((Math.max(perSecond, fastestCareful) * secondsPerLevel * LEVELS.length) / CUSTOMERS);
  const httpPerCustomer = perCustomer(HTTP_ORDERS_PER_SECOND);
  const sqlPerCustomer = perCustomer(SQL_ORDERS_PER_SECOND);
  const total = base.planPrice + Math.round((base.planPrice * 1500) / 10000);

  // HTTP side: customers pay-0..; orders taken round-robin across customers.
  await seedCustomersWithOrders(pool, { prefix: 'pay-', from: 0, to: CUSTOMERS, perCustomer: httpPerCustomer, planId: base.planId, price: base.planPrice, status: 'PENDING' });
  await creditWallets(pool, 'pay-', 0, CUSTOMERS, total * httpPerCustomer);
  const { rows: httpOrders } = await pool.query<{ id: string; customer_id: string }>(
    `select id, customer_id from "order" where customer_id like 'pay-%'
      order by row_number() over (partition by customer_id order by created_at), customer_id`,
  );
  const auth = (await tokens(Array.from({ length: CUSTOMERS }, (_, i) => `pay-${i}`))).map((t) => `Bearer ${t}`);
  const httpQueue = httpOrders.map((o) => ({ body: JSON.stringify({ query: PAY, variables: { orderId: o.id } }), auth: auth[Number(o.customer_id.slice(4))] }));

  // SQL side: its own customers and orders, queued for the pgbench script in the same round-robin order.
  await seedCustomersWithOrders(pool, { prefix: 'pgb-', from: 0, to: CUSTOMERS, perCustomer: sqlPerCustomer, planId: base.planId, price: base.planPrice, status: 'PENDING' });
  await creditWallets(pool, 'pgb-', 0, CUSTOMERS, total * sqlPerCustomer);
  await pool.query(`create table bench_pay_queue (n bigint primary key, order_id uuid not null, customer_id text not null, total int not null, plan_id uuid not null)`);
  await pool.query(`create sequence bench_pay_seq`);
  await pool.query(
    `insert into bench_pay_queue (n, order_id, customer_id, total, plan_id)
     select row_number() over (order by k, customer_id), id, customer_id, total, plan_id
       from (select id, customer_id, total, plan_id, row_number() over (partition by customer_id order by created_at) as k
               from "order" where customer_id like 'pgb-%') o`,
  );
  await pool.query('analyze');

  const drift = await checkScript(ctx);
  ctx.log(drift.note);

  const api = await ctx.api();
  let next = 0;
  let exhausted = false;
  // PostgreSQL's CPU (its backends and helpers: WAL writer, checkpointer) during the API's measured
  // halves, by level: with the API's own CPU, where a payment's time on the machine goes.
  const databaseMs = new Map<number, { ms: number; payments: number }>(LEVELS.map((c) => [c, { ms: 0, payments: 0 }]));
  const withDatabaseCpu = async (c: number, run: () => Promise<LoadResult>) => {
    const before = machineCpu();
    const r = await run();
    const spent = cpuBetween(before, machineCpu(), (_pid, comm) => (comm === 'postgres' ? 'postgres' : 'other')).groups.get('postgres') ?? 0;
    const sum = databaseMs.get(c)!;
    sum.ms += spent;
    sum.payments += r.ok;
    return r;
  };
  const payLoad = (connections: number, seconds: number, warmupSeconds: number) =>
    httpLoad({
      url: api.url,
      connections,
      seconds,
      warmupSeconds,
      next: () => {
        if (next >= httpQueue.length) exhausted = true;
        const o = httpQueue[next++ % httpQueue.length];
        return { body: o.body, headers: { authorization: o.auth } };
      },
      verify: (b) => b.startsWith('{"data":{"payWithWallet":{') && b.includes('"status":"PAID"') && !b.includes('"errors":'),
      cpuOf: () => api.cpuMs(),
    });
  const ownSql = async (c: number, seconds: number) => {
    const r = await pgbench(ctx.databaseUrl, SCRIPT, c, seconds);
    if (r.tps <= 0) throw new Error(`pgbench of the payment's own SQL processed nothing at c=${c} in ${seconds} s: ${r.summary}`);
    return r;
  };

  // Both levels are measured in one sequence of halves, mirrored in time: careful and own SQL at c=8,
  // then at c=32; the API at c=8, c=32, c=32, c=8; own SQL and careful at c=32, then at c=8. Every
  // ratio (the API against its ceilings at one level, and the API at c=32 against c=8) then compares
  // parts whose mean moment is the same, so a machine that speeds up or slows down during the scenario
  // weighs on both sides alike. The API's process is idle while pgbench runs, so its CPU (and profile,
  // with --profile) is its own load's. Every part starts from a vacuumed database and a clean
  // checkpoint (`cleanStart`), as the careful ceiling's reset gives its runs.
  const sqlHalf = sqlSeconds(sizes) / 2;
  const apiHalf = sizes.duration / 2;
  const mirrored = [...LEVELS].reverse();
  const parts = new Map<number, { careful: PgbenchResult[]; sql: PgbenchResult[]; app: LoadResult[] }>(LEVELS.map((c) => [c, { careful: [], sql: [], app: [] }]));
  const at = (c: number) => parts.get(c)!;
  if (sizes.warmup > 0) {
    for (const c of LEVELS) {
      await careful.run(c, sizes.warmup);
      await ownSql(c, sizes.warmup);
    }
  }
  for (const c of LEVELS) {
    at(c).careful.push(await careful.run(c, sqlHalf));
    await cleanStart(pool);
    at(c).sql.push(await ownSql(c, sqlHalf));
  }
  // Right before the API's halves: the API remembers tokens and customers for a minute.
  await introduce(api.url, auth);
  if (sizes.warmup > 0) for (const c of LEVELS) await payLoad(c, sizes.warmup, 0);
  for (const c of [...LEVELS, ...mirrored]) {
    await cleanStart(pool);
    at(c).app.push(await withDatabaseCpu(c, () => payLoad(c, apiHalf, 0)));
  }
  for (const c of mirrored) {
    await cleanStart(pool);
    at(c).sql.push(await ownSql(c, sqlHalf));
    at(c).careful.push(await careful.run(c, sqlHalf));
  }
  const levels = LEVELS.map((c) => {
    const { careful: [k1, k2], sql: [s1, s2], app: [a1, a2] } = at(c);
    const app = combineLoads([a1, a2]);
    const sql = combinePgbench([s1, s2]);
    const ceiling = combinePgbench([k1, k2]);
    const db = databaseMs.get(c)!;
    const databaseCpu = db.payments > 0 ? db.ms / db.payments : 0;
    const halves = `careful ${k1.tps.toFixed(0)}, own SQL ${s1.tps.toFixed(0)}, API ${a1.rps.toFixed(0)}, API ${a2.rps.toFixed(0)}, own SQL ${s2.tps.toFixed(0)}, careful ${k2.tps.toFixed(0)}`;
    ctx.log(
      `payWithWallet c=${c}: ${app.rps.toFixed(0)} req/s, p99 ${app.p99} ms, API CPU ${cpuPerAnswer(app).toFixed(2)} ms per payment, PostgreSQL ${databaseCpu.toFixed(2)} ms, load generator ${clientCpuPerAnswer(app).toFixed(2)} ms (${(app.rps / ceiling.tps).toFixed(2)}x careful, ${(app.rps / sql.tps).toFixed(2)}x its own SQL; halves: ${halves})`,
    );
    return { c, app, sql, careful: ceiling, halves, databaseCpu };
  });
  if (exhausted) throw new Error(`payWithWallet ran out of pre-created orders (${httpQueue.length}): raise HTTP_ORDERS_PER_SECOND or ORDERS_OVER_CAREFUL`);

  const [low, high] = levels;
  const scaling = `c=32 / c=8 throughput: ${(high.app.rps / low.app.rps).toFixed(2)}.`;
  const appProblems = (app: LoadResult) => (app.failed ? `PROBLEMS: ${app.failed} failed answers (first: ${app.firstFailure ?? 'socket error or timeout'}). ` : '');
  const sqlLine = (sql: PgbenchResult) => `pgbench of its own SQL: ${sql.tps.toFixed(0)} tps, p50 ${sql.p50.toFixed(1)} ms, p99 ${sql.p99.toFixed(1)} ms.`;
  const cpuLine = (app: LoadResult, databaseCpu: number) =>
    `API process CPU per payment: ${cpuPerAnswer(app).toFixed(2)} ms, PostgreSQL's (its processes, in the API's halves) ${databaseCpu.toFixed(2)} ms (the load generator's own: ${clientCpuPerAnswer(app).toFixed(2)} ms).`;
  const measuredWith = (halves: string) => `Measured in halves interleaved with its ceilings (tps and req/s: ${halves}).`;
  const vsCareful = levels.map(({ c, app, sql, careful: measured, halves, databaseCpu }) => {
    const ceiling = measured.tps;
    const ratio = app.rps / ceiling;
    const scales = c === low.c || app.rps >= low.app.rps;
    return {
      name: `payWithWallet end to end, c=${c}, vs the careful ceiling`,
      value: app.rps,
      unit: 'req/s',
      ceiling,
      ceilingName: `${carefulName(c)}, in this scenario's halves`,
      ratio,
      goal: c === low.c ? `>= ${MIN_VS_CAREFUL}x` : `>= ${MIN_VS_CAREFUL}x and >= the c=${low.c} rate`,
      met: app.failed === 0 && ratio >= MIN_VS_CAREFUL && scales,
      throughput: app.rps,
      p50Ms: app.p50,
      p99Ms: app.p99,
      notes:
        appProblems(app) +
        `${c === low.c ? '' : `${scaling} `}${cpuLine(app, databaseCpu)} ${sqlLine(sql)} ${measuredWith(halves)} Each request pays its own PENDING order; ${CUSTOMERS} customers in turn, each known to the API from one earlier request. ${careful.describe}`,
    } satisfies ScenarioResult;
  });
  const vsOwnSql = levels.map(({ c, app, sql, careful: measured, halves }) => {
    const ratio = app.rps / sql.tps;
    return {
      name: `payWithWallet end to end, c=${c}, vs pgbench of its own SQL`,
      value: app.rps,
      unit: 'req/s',
      ceiling: sql.tps,
      ceilingName: `pgbench of the API's own ${drift.statements} statements, -M prepared, c=${c}; itself ${(sql.tps / measured.tps).toFixed(2)}x the careful ceiling`,
      ratio,
      goal: `>= ${MIN_VS_OWN_SQL}x, script matching the API's SQL`,
      met: app.failed === 0 && sql.failed === 0 && drift.matches && ratio >= MIN_VS_OWN_SQL,
      throughput: app.rps,
      p50Ms: app.p50,
      p99Ms: app.p99,
      notes:
        appProblems(app) +
        (sql.failed ? `PROBLEMS: ${sql.failed} failed pgbench transactions. ` : '') +
        `${sqlLine(sql)} ${measuredWith(halves)} ${drift.note}`,
    } satisfies ScenarioResult;
  });
  return [...vsCareful, ...vsOwnSql];
}

/** What a statement does, for comparing the API's statements with the script's: verb and table. */
function shape(sql: string): string {
  const s = sql.toLowerCase().trim();
  if (s.startsWith('with ins as')) return 'upsert customer';
  if (s.includes('graphile_worker.add_job')) return 'add_job';
  const write = /\b(insert into|update|delete from)\s+"?(\w+)"?/.exec(s);
  if (write) return `${write[1].split(' ')[0]} ${write[2]}`;
  const read = /^select .*? from "?(\w+)"?/.exec(s);
  if (read) return `select ${read[1]}`;
  return s.split(/\s+/)[0].replace(/;$/, '');
}

/**
 * Captures the statements payWithWallet sends now (an in-process API, every query counted at the
 * driver) and compares their shapes with the pgbench script's, so a changed payment path cannot silently
 * leave the ceiling measuring other SQL.
 */
async function checkScript(ctx: BenchContext): Promise<{ matches: boolean; statements: number; note: string }> {
  const captured = await captureStatements(ctx.databaseUrl, ctx.base);
  const api = captured.find((c) => c.title === 'payWithWallet')!;
  if (!api.answer.includes('"PAID"')) throw new Error(`capturing payWithWallet's SQL failed: ${api.answer.slice(0, 200)}`);
  const script = readFileSync(SCRIPT, 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('--') && !l.startsWith('\\') && !l.includes('bench_pay_queue'));
  // What the driver sent, below every library: the ORM's own statements and SQL run on its connections alike.
  const a = api.roundTrips.map(shape);
  const b = script.map(shape);
  if (a.join('|') === b.join('|')) return { matches: true, statements: a.length, note: `The pgbench script matches the ${a.length} statements payWithWallet sends (checked in this run).` };
  return {
    matches: false,
    statements: b.length,
    note: `DRIFT: payWithWallet now sends [${a.join(', ')}] but the pgbench script runs [${b.join(', ')}]: update bench/scenarios/pay.pgbench.sql (npx tsx bench/capture-sql.ts).`,
  };
}
