/**
 * Prints the SQL statements the API sends for one request of each benchmarked mutation, as the ORM
 * issues them (an in-process server with the ORM's query observer, on a scratch database), and the
 * round trips to PostgreSQL counted at the driver (every query node-postgres sends, whoever sends it:
 * the ORM, graphile-worker, raw SQL). This is where bench/scenarios/pay.pgbench.sql comes from: re-run
 * it when the payment path changes.
 *
 *   npx tsx bench/capture-sql.ts                  the ORM's statements, and round-trip counts
 *   npx tsx bench/capture-sql.ts --round-trips    also every query the driver sent
 */
import 'reflect-metadata';
import { createClient } from 'graphql-ws';
import { Client as PgClient } from 'pg';
import WebSocket from 'ws';
import { startApp } from '../src/app';
import { loadConfig } from '../src/config';
import { apiEnv } from './lib/api';
import { BENCH_DB, dropDatabase, recreateDatabase, sqlPool } from './lib/database';
import { runOrThrow } from './lib/processes';
import { creditWallets, seedBase, seedCustomersWithOrders, type BaseSeed } from './lib/seed';
import { adminDatabaseUrl } from './lib/settings';
import { token } from './lib/tokens';

const DB = `${BENCH_DB}_capture`;

/**
 * What each benchmarked operation sends, by title: the ORM's statements in order, and the queries the
 * driver sent (one round trip each; includes BEGIN/COMMIT and anything outside the ORM).
 */
export type Captured = Array<{ title: string; answer: string; statements: string[]; roundTrips: string[]; withBindValues: number }>;

const oneLine = (sql: string): string => sql.replace(/\s+/g, ' ').trim();

/**
 * Starts the API in this process on `url` (already migrated, with the base seed), runs one request of
 * each benchmarked operation as customer `cap-0` (seeded here) and returns the statements the ORM sent.
 */
export async function captureStatements(url: string, base: BaseSeed): Promise<Captured> {
  const captured: string[] = [];
  const driver: string[] = [];
  let withBindValues = 0;
  let recording = false;
  // Counts at node-postgres, below every library: each query() is one round trip on its connection.
  const proto = PgClient.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const originalQuery = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    if (recording) {
      const q = args[0];
      driver.push(oneLine(typeof q === 'string' ? q : String((q as { text?: string } | null)?.text ?? '?')));
      // Values sent apart from the text (extended protocol), or inlined into it by the library.
      const values = typeof q === 'object' && q !== null && 'values' in q ? (q as { values?: unknown[] }).values : Array.isArray(args[1]) ? args[1] : undefined;
      if (values?.length) withBindValues++;
    }
    return originalQuery.apply(this, args);
  };
  const app = await startApp(loadConfig({ ...apiEnv({ databaseUrl: url, port: 0 }), LOG_LEVEL: 'warn', RUN_WORKER: 'false' }), url, {
    migrate: false,
    // The ORM's logger colours SQL with ANSI escapes (ESC [ ... m); they are stripped before comparing.
    // eslint-disable-next-line no-control-regex -- matching the ESC control character is the point
    orm: { onQuery: (sql) => recording && captured.push(sql.replace(/\x1b\[[0-9;]*m/g, '').replace(/\s+/g, ' ').replace(/^\[query\] /, '').replace(/ \[took .*$/, '').trim()) },
  });
  const pool = sqlPool(url);
  const out: Captured = [];
  try {
    await seedCustomersWithOrders(pool, { prefix: 'cap-', from: 0, to: 1, perCustomer: 3, planId: base.planId, price: base.planPrice, status: 'PENDING' });
    await creditWallets(pool, 'cap-', 0, 1, 1_000_000);
    const orders = (await pool.query<{ id: string }>(`select id from "order" where customer_id = 'cap-0' order by created_at`)).rows.map((r) => r.id);
    const auth = `Bearer ${await token('cap-0')}`;
    const gql = async (query: string, variables: object) => {
      const res = await fetch(`${app.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body: JSON.stringify({ query, variables }) });
      return res.text();
    };
    const pay = 'mutation($id: ID!) { payWithWallet(orderId: $id) { id status version } }';
    const show = async (title: string, run: () => Promise<string>) => {
      captured.length = 0;
      driver.length = 0;
      withBindValues = 0;
      recording = true;
      const answer = await run();
      recording = false;
      out.push({ title, answer, statements: [...captured], roundTrips: [...driver], withBindValues });
    };
    await gql(pay, { id: orders[0] }); // warms the ORM's metadata and the customer row
    await show('payWithWallet', () => gql(pay, { id: orders[1] }));
    await show('cancelOrder', () => gql('mutation($id: ID!) { cancelOrder(orderId: $id) { id status version } }', { id: orders[2] }));
    await show('myOrders(first: 20)', () => gql('{ myOrders(first: 20) { edges { cursor node { id number status total { amount } plan { name } } } pageInfo { hasNextPage endCursor } } }', {}));
    await show('orderUpdated subscription, up to its first message', async () => {
      const client = createClient({ url: `${app.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: auth }, retryAttempts: 0 });
      try {
        return await new Promise<string>((resolve, reject) => {
          client.subscribe({ query: 'subscription($id: ID!) { orderUpdated(orderId: $id) { id status version } }', variables: { id: orders[2] } }, {
            next: (r) => resolve(JSON.stringify(r)),
            error: reject,
            complete: () => undefined,
          });
        });
      } finally {
        await client.dispose();
      }
    });
    // Each twice: the first order of a purchase reads it, the next one is placed from what was read.
    const create = (input: object) => () => gql('mutation($input: CreateOrderInput!) { createOrder(input: $input) { id status } }', { input });
    await show('createOrder without coupon', create({ planId: base.planId }));
    await show('createOrder without coupon, again', create({ planId: base.planId }));
    await show('createOrder with coupon', create({ planId: base.planId, couponCode: base.couponCode }));
    await show('createOrder with coupon, again', create({ planId: base.planId, couponCode: base.couponCode }));
  } finally {
    proto.query = originalQuery;
    await pool.end();
    await app.stop();
  }
  return out;
}

async function main(): Promise<void> {
  const adminUrl = adminDatabaseUrl();
  const url = await recreateDatabase(adminUrl, DB);
  try {
    runOrThrow(process.execPath, [require.resolve('tsx/cli'), 'scripts/migrate.ts'], apiEnv({ databaseUrl: url, port: 0 }));
    const pool = sqlPool(url);
    const base = await seedBase(pool);
    await pool.end();
    for (const c of await captureStatements(url, base)) {
      console.log(
        `\n=== ${c.title}: ${c.statements.length} statements from the ORM, ${c.roundTrips.length} round trips at the driver (${c.withBindValues} with bind values, the rest with values inlined in the text); answer ${c.answer.slice(0, 120)}`,
      );
      for (const s of c.statements) console.log(`  ${s}`);
      if (process.argv.includes('--round-trips')) for (const s of c.roundTrips) console.log(`  [driver] ${s}`);
    }
  } finally {
    await dropDatabase(adminUrl, DB);
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
