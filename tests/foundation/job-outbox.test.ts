import { Client } from 'pg';
import { createOrder, createPlan, credit, newCustomer, PAY_WALLET } from '../support/payments-fixtures';
import { codeOf, createTestDatabase, startTestServer, type TestServer } from '../support/server';
import { until } from '../support/until';

/**
 * Jobs a change asks for (order timeouts, confirmation mails, automatic deliveries) are rows of
 * job_outbox written in the change's transaction, so orders and payments never NOTIFY (PostgreSQL
 * serialises the commits of transactions that do); each job runner relays committed rows to
 * graphile-worker a batch at a time.
 */
let databaseUrl: string;
let api: TestServer;
let listener: Client;
const notifications: string[] = [];

beforeAll(async () => {
  databaseUrl = await createTestDatabase();
  // An instance that runs no jobs, as an API deployment with a separate worker does.
  api = await startTestServer({ RUN_WORKER: 'false' }, { databaseUrl });
  listener = new Client({ connectionString: databaseUrl });
  await listener.connect();
  listener.on('notification', (n) => notifications.push(n.payload ?? ''));
  await listener.query('listen "jobs:insert"');
});
afterAll(async () => {
  await listener.end();
  await api.stop();
});

/** Notifications sent before this call have reached the listener once it returns (one connection, in order). */
const settled = () => listener.query('select 1');

const outbox = async (orderIds: string[]) =>
  Object.fromEntries(
    (await api.sql<{ task: string; n: number }>(`select task, count(*)::int as n from job_outbox where payload ->> 'orderId' = any($1) group by task`, [orderIds])).map((r) => [r.task, r.n]),
  );

test('racing orders and payments NOTIFY nothing; a runner relays their jobs in batches and each runs once', async () => {
  const planId = await createPlan(api, 1_500);
  const customers = await Promise.all(Array.from({ length: 12 }, () => newCustomer(api, 'outbox')));
  await Promise.all(customers.map((c) => credit(api, c.id, 5_000)));
  await settled();
  notifications.length = 0;

  const orders = await Promise.all(customers.map((c) => createOrder(api, c, planId)));
  const paid = await Promise.all(orders.map((o, i) => api.gql(PAY_WALLET, { orderId: o.id }, customers[i].token)));
  expect(paid.map((r) => r.data?.payWithWallet.status ?? JSON.stringify(r.errors))).toEqual(orders.map(() => 'PAID'));
  await settled();
  expect(notifications).toEqual([]);
  const ids = orders.map((o) => o.id);
  expect(await outbox(ids)).toEqual({ order_timeout: 12, send_mail: 12, deliver_order: 12 });

  const [{ last }] = await api.sql<{ last: string }>(`select max(id)::text as last from job_outbox`);

  // A job runner starts on the same database: it relays the 36 rows (one NOTIFY per batch) and runs them.
  const worker = await startTestServer({}, { databaseUrl });
  try {
    await until('every paid order to be delivered', async () => {
      const [{ n }] = await api.sql<{ n: number }>(`select count(*)::int as n from "order" where id = any($1) and status = 'DELIVERED'`, [ids]);
      return n === ids.length;
    });
    const [{ left }] = await api.sql<{ left: number }>(`select count(*)::int as left from job_outbox where id <= $1`, [last]);
    expect(left).toBe(0);
    await settled();
    expect(notifications.length).toBeGreaterThanOrEqual(1);
    expect(notifications.length).toBeLessThan(ids.length);
    // Each delivery ran once, and each confirmation mail job finished (none left queued or failed).
    const deliveries = await api.sql<{ attempts: number }>(`select attempts from delivery where order_id = any($1)`, [ids]);
    expect(deliveries.map((d) => d.attempts)).toEqual(ids.map(() => 1));
    await until('the confirmation mails to be sent', async () => {
      const [{ n }] = await api.sql<{ n: number }>(`select count(*)::int as n from graphile_worker.jobs where key = any($1)`, [ids.map((id) => `mail:${id}:PAID`)]);
      return n === 0;
    });
    // The timeouts wait in the queue until the orders would have expired; they then find them paid.
    const [{ timeouts }] = await api.sql<{ timeouts: number }>(
      `select count(*)::int as timeouts from graphile_worker.jobs where task_identifier = 'order_timeout' and key = any($1) and run_at > now()`,
      [ids.map((id) => `order_timeout:${id}`)],
    );
    expect(timeouts).toBe(ids.length);
  } finally {
    await worker.stop();
  }
});

test('a payment that is rolled back leaves no job behind', async () => {
  const planId = await createPlan(api, 2_000);
  const c = await newCustomer(api, 'outbox-poor');
  const order = await createOrder(api, c, planId);
  await credit(api, c.id, order.total - 1);
  expect(codeOf(await api.gql(PAY_WALLET, { orderId: order.id }, c.token))).toBe('INSUFFICIENT_BALANCE');
  expect(await outbox([order.id])).toEqual({ order_timeout: 1 });
});
