import { readFileSync } from 'node:fs';
import path from 'node:path';
import { captureStatements } from '../capture-sql';
import type { BenchContext } from '../lib/context';
import { httpLoad, type LoadResult } from '../lib/load';
import { pgbench, type PgbenchResult } from '../lib/pgbench';
import type { ScenarioResult } from '../lib/report';
import { creditWallets, seedCustomers, seedOrders } from '../lib/seed';
import { ROOT } from '../lib/settings';
import { tokens } from '../lib/tokens';

const PAY = 'mutation Pay($orderId: ID!) { payWithWallet(orderId: $orderId) { id status version paidAt total { amount currency } delivery { status } } }';
/** Customers whose orders are paid, in turn: per-customer rows (wallet, unpaid count) spread over them. */
const CUSTOMERS = 2_000;
/** Orders pre-created per second of load: above what either side can reach on a small machine. */
const HTTP_ORDERS_PER_SECOND = 2_000;
const SQL_ORDERS_PER_SECOND = 5_000;
const SCRIPT = path.join(ROOT, 'bench', 'scenarios', 'pay.pgbench.sql');

/**
 * payWithWallet end to end (token, parse, validate, unit of work) at 8 and 32 connections, every
 * request paying its own pre-created PENDING order, customers in turn; against pgbench running the
 * same SQL (bench/scenarios/pay.pgbench.sql) prepared, at the same concurrency, on its own orders.
 */
export async function payScenarios(ctx: BenchContext): Promise<ScenarioResult[]> {
  const { sizes, pool, base } = ctx;
  const secondsPerLevel = sizes.warmup + sizes.duration;
  const httpPerCustomer = Math.ceil((HTTP_ORDERS_PER_SECOND * secondsPerLevel * 2) / CUSTOMERS);
  const sqlPerCustomer = Math.ceil((SQL_ORDERS_PER_SECOND * secondsPerLevel * 2) / CUSTOMERS);
  const total = base.planPrice + Math.round((base.planPrice * 1500) / 10000);

  // HTTP side: customers pay-0..; orders taken round-robin across customers.
  await seedCustomers(pool, 'pay-', 0, CUSTOMERS, httpPerCustomer);
  await seedOrders(pool, { prefix: 'pay-', from: 0, to: CUSTOMERS, perCustomer: httpPerCustomer, planId: base.planId, price: base.planPrice, status: 'PENDING' });
  await creditWallets(pool, 'pay-', 0, CUSTOMERS, total * httpPerCustomer);
  const { rows: httpOrders } = await pool.query<{ id: string; customer_id: string }>(
    `select id, customer_id from "order" where customer_id like 'pay-%'
      order by row_number() over (partition by customer_id order by created_at), customer_id`,
  );
  const auth = (await tokens(Array.from({ length: CUSTOMERS }, (_, i) => `pay-${i}`))).map((t) => `Bearer ${t}`);
  const httpQueue = httpOrders.map((o) => ({ body: JSON.stringify({ query: PAY, variables: { orderId: o.id } }), auth: auth[Number(o.customer_id.slice(4))] }));

  // SQL side: its own customers and orders, queued for the pgbench script in the same round-robin order.
  await seedCustomers(pool, 'pgb-', 0, CUSTOMERS, sqlPerCustomer);
  await seedOrders(pool, { prefix: 'pgb-', from: 0, to: CUSTOMERS, perCustomer: sqlPerCustomer, planId: base.planId, price: base.planPrice, status: 'PENDING' });
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
  ctx.log(drift);

  const api = await ctx.api();
  let next = 0;
  let exhausted = false;
  const payLoad = (connections: number) =>
    httpLoad({
      url: api.url,
      connections,
      seconds: sizes.duration,
      warmupSeconds: sizes.warmup,
      next: () => {
        if (next >= httpQueue.length) exhausted = true;
        const o = httpQueue[next++ % httpQueue.length];
        return { body: o.body, headers: { authorization: o.auth } };
      },
      verify: (b) => b.startsWith('{"data":{"payWithWallet":{') && b.includes('"status":"PAID"') && !b.includes('"errors":'),
    });

  const levels: Array<{ c: number; app: LoadResult; sql: PgbenchResult }> = [];
  for (const c of [8, 32]) {
    if (sizes.warmup > 0) await pgbench(ctx.databaseUrl, SCRIPT, c, sizes.warmup);
    const sql = await pgbench(ctx.databaseUrl, SCRIPT, c, sizes.duration);
    ctx.log(`pgbench payment SQL c=${c}: ${sql.tps.toFixed(0)} tps, p99 ${sql.p99.toFixed(1)} ms`);
    const app = await payLoad(c);
    ctx.log(`payWithWallet c=${c}: ${app.rps.toFixed(0)} req/s, p99 ${app.p99} ms`);
    levels.push({ c, app, sql });
  }
  if (exhausted) throw new Error(`payWithWallet ran out of pre-created orders (${httpQueue.length}): raise HTTP_ORDERS_PER_SECOND`);

  const [low, high] = levels;
  return levels.map(({ c, app, sql }) => {
    const ratio = app.rps / sql.tps;
    const scales = c === 8 || app.rps >= low.app.rps;
    const problems = [
      app.failed ? `${app.failed} failed answers (first: ${app.firstFailure ?? 'socket error or timeout'})` : '',
      sql.failed ? `${sql.failed} failed pgbench transactions` : '',
    ].filter(Boolean);
    return {
      name: `payWithWallet end to end, c=${c}`,
      value: app.rps,
      unit: 'req/s',
      ceiling: sql.tps,
      ceilingName: `pgbench, same SQL, -M prepared, c=${c}`,
      ratio,
      goal: c === 8 ? '>= 0.35x' : '>= 0.35x and >= the c=8 rate',
      met: problems.length === 0 && ratio >= 0.35 && scales,
      throughput: app.rps,
      p50Ms: app.p50,
      p99Ms: app.p99,
      notes:
        (problems.length ? `PROBLEMS: ${problems.join('; ')}. ` : '') +
        `pgbench: ${sql.tps.toFixed(0)} tps, p50 ${sql.p50.toFixed(1)} ms, p99 ${sql.p99.toFixed(1)} ms. ` +
        (c === 32 ? `c=32 / c=8 throughput: ${(high.app.rps / low.app.rps).toFixed(2)}. ` : '') +
        `Each request pays its own PENDING order; ${CUSTOMERS} customers in turn. ${drift}`,
    } satisfies ScenarioResult;
  });
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
 * Captures the statements payWithWallet sends now (an in-process API with the ORM's query observer)
 * and compares their shapes with the pgbench script's, so a changed payment path cannot silently
 * leave the ceiling measuring other SQL.
 */
async function checkScript(ctx: BenchContext): Promise<string> {
  const captured = await captureStatements(ctx.databaseUrl, ctx.base);
  const api = captured.find((c) => c.title === 'payWithWallet')!;
  if (!api.answer.includes('"PAID"')) throw new Error(`capturing payWithWallet's SQL failed: ${api.answer.slice(0, 200)}`);
  const script = readFileSync(SCRIPT, 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('--') && !l.startsWith('\\') && !l.includes('bench_pay_queue'));
  const a = api.statements.map(shape);
  const b = script.map(shape);
  if (a.join('|') === b.join('|')) return `The pgbench script matches the ${a.length} statements payWithWallet sends (checked in this run).`;
  return `DRIFT: payWithWallet now sends [${a.join(', ')}] but the pgbench script runs [${b.join(', ')}]: update bench/scenarios/pay.pgbench.sql (npx tsx bench/capture-sql.ts).`;
}
