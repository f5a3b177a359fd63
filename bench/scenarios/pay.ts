import path from 'node:path';
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
        `Each request pays its own PENDING order; ${CUSTOMERS} customers in turn.`,
    } satisfies ScenarioResult;
  });
}
