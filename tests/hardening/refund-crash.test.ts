import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { expectLedgerSound } from '../support/ledger-invariants';
import { createTestDatabase, TEST_SECRET, token } from '../support/server';
import { postWebhook, startStripeStub, STRIPE_TEST_KEYS, type StripeStub } from '../support/stripe-stub';
import { until } from '../support/until';
import { freePort, post, spawnServer, type SpawnedServer } from './helpers';

/**
 * A refund Stripe has carried out, whose answer the server never got to record: the server (a child
 * process) is killed with SIGKILL while Stripe holds the answers of an order's refund and of a late
 * payment's refund. After a restart, the refunds are asked for again under the same idempotency keys:
 * each is made at Stripe exactly once, recorded SUCCEEDED with Stripe's id, and the books balance.
 */
jest.setTimeout(150_000);

let stub: StripeStub;
let pool: Pool;
let server: SpawnedServer | undefined;

beforeAll(async () => {
  stub = await startStripeStub();
});
afterAll(async () => {
  if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
  await pool?.end();
  stub?.releaseRefunds();
  await stub?.close();
});

test('SIGKILL after Stripe made the refunds but before they were recorded: after a restart each refund exists once at Stripe and the books balance', async () => {
  const databaseUrl = await createTestDatabase();
  pool = new Pool({ connectionString: databaseUrl, max: 2 });
  const sql = async <T = any>(text: string, params?: unknown[]) => (await pool.query(text, params as unknown[])).rows as T[];
  const port = await freePort();
  const env = { DATABASE_URL: databaseUrl, JWT_SECRET: TEST_SECRET, ...STRIPE_TEST_KEYS, STRIPE_API_URL: stub.url, LOG_LEVEL: 'warn' };
  server = await spawnServer(env, { port });
  const url = server.url;

  const admin = await token(`admin-${randomUUID()}`, 'admin');
  const providerId = `prov-${randomUUID()}`;
  await post(url, `{ me { id } }`, { token: await token(providerId, 'provider') });
  const plan = await post(url, `mutation($p: ID) { createPlan(input: { name: "Refund crash", price: 2000, providerId: $p }) { id } }`, { token: admin, variables: { p: providerId } });
  const planId = plan.body.data.createPlan.id as string;
  const checkout = async () => {
    const t = await token(`cust-${randomUUID()}`);
    const order = await post(url, `mutation($i: CreateOrderInput!) { createOrder(input: $i) { id total { amount } } }`, { token: t, variables: { i: { planId } } });
    const orderId = order.body.data.createOrder.id as string;
    const opened = await post(url, `mutation($o: ID!) { payWithGateway(orderId: $o) { checkoutUrl } }`, { token: t, variables: { o: orderId } });
    const sessionId = String(opened.body.data.payWithGateway.checkoutUrl).split('/').pop()!;
    return { t, orderId, sessionId, pi: `pi_${randomUUID()}` };
  };

  // An order paid through Stripe, refunded by an admin.
  const paid = await checkout();
  expect((await postWebhook(url, stub.completeCheckout(paid.sessionId, { paymentIntent: paid.pi }))).status).toBe(200);
  // A payment that arrives after its order was cancelled (paid at Stripe just before the cancellation).
  const late = await checkout();
  const lateEvent = stub.completeCheckout(late.sessionId, { paymentIntent: late.pi });
  const cancelled = await post(url, `mutation($o: ID!) { cancelOrder(orderId: $o) { status } }`, { token: late.t, variables: { o: late.orderId } });
  expect(cancelled.body.data.cancelOrder.status).toBe('CANCELLED');

  stub.refundMode = 'hang';
  const refunded = await post(url, `mutation($o: ID!) { refundOrder(orderId: $o) { status } }`, { token: admin, variables: { o: paid.orderId } });
  expect(refunded.body.data.refundOrder.status).toBe('REFUNDED');
  expect((await postWebhook(url, lateEvent)).status).toBe(200);

  // Stripe has made both refunds and holds its answers: the server dies before it can record them.
  await until('Stripe to have made both refunds', async () => stub.refundsOf(paid.pi).length === 1 && stub.refundsOf(late.pi).length === 1 && stub.held() >= 2, 30_000);
  server.child.kill('SIGKILL');
  expect(await server.exited).toBe('SIGKILL');
  stub.releaseRefunds();
  expect(await sql(`select status, gateway_ref from refund where order_id = $1`, [paid.orderId])).toEqual([{ status: 'PENDING', gateway_ref: null }]);
  expect(await sql(`select refund_status, refund_ref from gateway_charge where session_id = $1`, [late.sessionId])).toEqual([{ refund_status: 'PENDING', refund_ref: null }]);

  server = await spawnServer(env, { port });
  // The dead runner's jobs are taken back (within about 30 s) and ask Stripe again with the same keys.
  await until(
    'the refunds to be recorded after the restart',
    async () => {
      const [r] = await sql(`select status from refund where order_id = $1`, [paid.orderId]);
      const [c] = await sql(`select refund_status from gateway_charge where session_id = $1`, [late.sessionId]);
      return r?.status === 'SUCCEEDED' && c?.refund_status === 'SUCCEEDED';
    },
    90_000,
    250,
  );
  const [made] = stub.refundsOf(paid.pi);
  const [madeLate] = stub.refundsOf(late.pi);
  expect(stub.refundsOf(paid.pi)).toHaveLength(1);
  expect(stub.refundsOf(late.pi)).toHaveLength(1);
  expect(await sql(`select status, gateway_ref from refund where order_id = $1`, [paid.orderId])).toEqual([{ status: 'SUCCEEDED', gateway_ref: made.id }]);
  expect(await sql(`select refund_status, refund_ref from gateway_charge where session_id = $1`, [late.sessionId])).toEqual([{ refund_status: 'SUCCEEDED', refund_ref: madeLate.id }]);
  // Asked again after the restart, answered from Stripe's idempotency record.
  expect(stub.requestsTo('/v1/refunds').filter((r) => r.body.payment_intent === paid.pi && r.outcome === 'replayed').length).toBeGreaterThanOrEqual(1);
  expect(await sql(`select status from "order" where id = any($1::uuid[]) order by status`, [[paid.orderId, late.orderId]])).toEqual([{ status: 'CANCELLED' }, { status: 'REFUNDED' }]);
  await expectLedgerSound(sql);
});
