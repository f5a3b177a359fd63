import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { PENDING_JOBS } from '../support/jobs';
import { expectLedgerSound } from '../support/ledger-invariants';
import { startMailbox, type Mailbox } from '../support/mailbox';
import { createTestDatabase, TEST_SECRET, token } from '../support/server';
import { checkoutEvent, postWebhook, startStripeStub, STRIPE_TEST_KEYS, type StripeStub } from '../support/stripe-stub';
import { until } from '../support/until';
import { freePort, post, spawnServer, type SpawnedServer } from './helpers';

/**
 * Crash safety: the real server (a child process) is killed with SIGKILL in the middle of a burst of
 * wallet and gateway payments, started again, and left to drain its jobs. Then the books must balance,
 * every paid order must be delivered, and every order mail must have gone out exactly once.
 */
jest.setTimeout(120_000);

const CUSTOMERS = 10;
let stub: StripeStub;
let mailbox: Mailbox;
let pool: Pool;
let server: SpawnedServer | undefined;

beforeAll(async () => {
  stub = await startStripeStub();
  // The API is killed while it may be sending mails: those connections are reset (the mails are resent
  // after restart), which must not fail the suite.
  mailbox = await startMailbox({ toleratesResets: true });
});
afterAll(async () => {
  if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
  await pool?.end();
  await stub?.close();
  await mailbox?.close();
});

test('SIGKILL mid-burst, restart, drain: the books balance, paid orders are delivered, each mail goes out once', async () => {
  const databaseUrl = await createTestDatabase();
  pool = new Pool({ connectionString: databaseUrl, max: 2 });
  const sql = async <T = any>(text: string, params?: unknown[]) => (await pool.query(text, params as unknown[])).rows as T[];
  const port = await freePort();
  const env = {
    DATABASE_URL: databaseUrl,
    JWT_SECRET: TEST_SECRET,
    ...STRIPE_TEST_KEYS,
    STRIPE_API_URL: stub.url,
    SMTP_URL: mailbox.url,
    LOG_LEVEL: 'warn',
    WORKER_CONCURRENCY: '4',
  };
  server = await spawnServer(env, { port });
  const url = server.url;

  const admin = await token(`admin-${randomUUID()}`, 'admin');
  const plan = await post(url, `mutation { createPlan(input: { name: "Crash plan", price: 1000, durationDays: 30 }) { id } }`, { token: admin });
  const planId = plan.body.data.createPlan.id as string;
  const customers = await Promise.all(
    Array.from({ length: CUSTOMERS }, async (_, i) => {
      const id = `cust-crash-${i}-${randomUUID()}`;
      const t = await token(id);
      await post(url, `{ me { id } }`, { token: t });
      await post(url, `mutation($c: ID!, $r: String!) { creditWallet(customerId: $c, amount: 100000, reference: $r) { balance { amount } } }`, { token: admin, variables: { c: id, r: `crash-${id}` } });
      return { id, t };
    }),
  );

  // Each customer: one order paid through the gateway (checkout + webhook), then three from the wallet.
  const walletOrders = new Set<string>();
  const gatewayOrders = new Set<string>();
  const events = new Map<string, object>(); // order id -> its Stripe event (one id, as Stripe retries it)
  let steps = 0;
  const createOrder = async (t: string) => (await post(url, `mutation($i: CreateOrderInput!) { createOrder(input: $i) { id } }`, { token: t, variables: { i: { planId, idempotencyKey: randomUUID() } } })).body?.data?.createOrder?.id as string | undefined;
  const burst = customers.map(async ({ t }, i) => {
    await new Promise((r) => setTimeout(r, i * 40)); // a stream of customers, not one instant
    const id = await createOrder(t);
    if (!id) return;
    gatewayOrders.add(id);
    const checkout = await post(url, `mutation($o: ID!) { payWithGateway(orderId: $o) { checkoutUrl } }`, { token: t, variables: { o: id } });
    if (!checkout.body?.data) return;
    const session = [...stub.sessions.values()].find((x: any) => x.client_reference_id === id || x.metadata?.orderId === id) as any;
    const event = checkoutEvent({ id: session.id, amount_total: session.amount_total, currency: session.currency, orderId: id, payment_intent: `pi_${randomUUID()}` });
    events.set(id, event);
    if ((await postWebhook(url, event).catch(() => ({ status: 0 }))).status === 200) steps++;

    for (let n = 0; n < 3; n++) {
      const id = await createOrder(t);
      if (!id) return;
      walletOrders.add(id);
      const paid = await post(url, `mutation($o: ID!) { payWithWallet(orderId: $o) { status } }`, { token: t, variables: { o: id } });
      if (paid.body?.data?.payWithWallet) steps++;
    }
  });

  // Kill it when about a fifth of the payments are through, while the rest are in flight.
  await until('a fifth of the burst', async () => steps >= 8, 60_000, 2);
  server.child.kill('SIGKILL');
  expect(await server.exited).toBe('SIGKILL');
  await Promise.all(burst);
  const atKill = (
    await sql(`select (select count(*) from "order" where status = 'PAID')::int paid, (select count(*) from "order" where status = 'DELIVERED')::int delivered,
                      (select count(*) from "order" where status = 'PENDING')::int pending, (select count(*) from ${PENDING_JOBS} where run_at <= now())::int jobs,
                      (select count(*) from graphile_worker.jobs where task_identifier = 'send_mail' and locked_at is not null)::int mailing`)
  )[0];

  // Start again; clients and Stripe retry what got no answer.
  server = await spawnServer(env, { port });
  for (const [id, event] of events) {
    const r = await postWebhook(url, event);
    expect(r.status).toBeLessThan(300);
    void id;
  }
  for (const { id: customerId, t } of customers) {
    const ids = (await sql<{ id: string }>(`select id from "order" where customer_id = $1 and status = 'PENDING'`, [customerId])).map((r) => r.id);
    for (const id of ids.filter((x) => walletOrders.has(x))) {
      const r = await post(url, `mutation($o: ID!) { payWithWallet(orderId: $o) { status } }`, { token: t, variables: { o: id } });
      expect(r.body?.data?.payWithWallet?.status ?? r.body?.errors?.[0]?.extensions?.code).toMatch(/PAID|ORDER_NOT_PAYABLE/);
    }
  }

  // Jobs drain: every paid order delivered, no job due.
  await until(
    'the jobs to drain',
    async () => {
      const [{ n }] = await sql(`select count(*)::int n from "order" where status = 'PAID'`);
      const [{ due }] = await sql(`select count(*)::int due from ${PENDING_JOBS} where run_at <= now()`);
      return n === 0 && due === 0;
    },
    60_000,
    250,
  ).catch(async (e) => {
    const jobs = await sql(`select task_identifier, locked_by, locked_at, attempts, last_error, run_at from graphile_worker.jobs order by run_at limit 20`);
    const states = await sql(`select o.status, d.status as delivery, count(*)::int from "order" o left join delivery d on d.order_id = o.id group by 1, 2`);
    throw new Error(`${(e as Error).message}\norders: ${JSON.stringify(states)}\njobs: ${JSON.stringify(jobs, null, 1)}`);
  });

  await expectLedgerSound(sql);
  const orders = await sql<{ id: string; status: string; delivery: string | null }>(
    `select o.id, o.status, d.status as delivery from "order" o left join delivery d on d.order_id = o.id`,
  );
  const paid = orders.filter((o) => o.status !== 'PENDING' && o.status !== 'CANCELLED');
  // Every payment a client asked for and retried went through.
  for (const id of [...walletOrders, ...events.keys()]) expect([id, orders.find((o) => o.id === id)?.status]).toEqual([id, 'DELIVERED']);
  for (const o of paid) expect([o.status, o.delivery]).toEqual(['DELIVERED', 'COMPLETED']);
  // No wallet debit without a paid order.
  const debited = await sql(`select o.id from ledger_entry e join "order" o on o.id = e.order_id where e.account = 'WALLET' and o.status not in ('PAID', 'DELIVERED', 'REFUNDED')`);
  expect(debited).toEqual([]);

  // Mails: none lost, each (order, state) one message. A mail the SMTP server accepted just before the
  // kill, whose job was not yet marked done, goes out again after the restart with the same Message-ID
  // (so mail clients show it once): such repeats are bounded by the mail jobs in flight at the kill.
  await until('mails of every delivered order', async () => paid.every((o) => mailbox.mails.some((m) => m.messageId.includes(`order-${o.id}-delivered`))), 20_000);
  let repeats = 0;
  for (const o of paid) {
    for (const kind of ['paid', 'delivered']) {
      const sent = mailbox.mails.filter((m) => m.messageId === `<order-${o.id}-${kind}@commerce.invalid>`).length;
      expect([o.id, kind, sent > 0]).toEqual([o.id, kind, true]);
      repeats += sent - 1;
    }
  }
  expect(repeats).toBeLessThanOrEqual(atKill.mailing);
  const unpaidMails = mailbox.mails.filter((m) => orders.some((o) => (o.status === 'PENDING' || o.status === 'CANCELLED') && m.messageId.includes(o.id)));
  expect(unpaidMails).toEqual([]);
  console.log(
    `crash: at the kill ${JSON.stringify(atKill)} (${steps} payment answers of ${CUSTOMERS * 4}); after restart ${paid.length} delivered, ${orders.length - paid.length} left unpaid, ${mailbox.mails.length} mails (${repeats} repeated after the kill), ${events.size} webhooks retried`,
  );
});
