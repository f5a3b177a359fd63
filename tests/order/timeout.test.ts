import { Client } from 'pg';
import { CancelOrderDocument, OrderDocument } from '../__generated__/graphql';
import { PENDING_JOBS } from '../support/jobs';
import { counters, createCoupon, createOrder, createPlan, newCustomer } from '../support/orders';
import { startTestServer, token, type TestServer } from '../support/server';
import { until } from '../support/until';

/** The order's status and reason, straight from the database. */
const stateOf = async (s: TestServer, id: string) =>
  (await s.sql<{ status: string; cancel_reason: string | null; version: number; expires_at: Date | null }>(
    `select status, cancel_reason, version, expires_at from "order" where id = $1`,
    [id],
  ))[0];

test('an unpaid order is cancelled by the payment timeout (2 s) and gives back its coupon use, stock and slot', async () => {
  const s = await startTestServer({ ORDER_PAYMENT_TIMEOUT_SECONDS: '2' });
  try {
    const plan = await createPlan(s, { stock: 1 });
    const coupon = await createCoupon(s, { maxUses: 1, maxUsesPerUser: 1 });
    const customer = newCustomer();
    const tok = await token(customer);
    const o = (await createOrder(s, tok, { planId: plan.id, couponCode: coupon.code })).data!.createOrder;
    const ids = { planId: plan.id, couponId: coupon.id, customerId: customer };
    expect(await counters(s, ids)).toEqual({ stockUsed: 1, couponUsed: 1, unpaid: 1, customerUses: 1 });

    const done = await until('the payment timeout to cancel the order', async () => {
      const r = await s.gql(OrderDocument, { id: o.id }, tok);
      return r.data?.order?.status === 'CANCELLED' ? r.data.order : null;
    }, 15_000);
    expect(done).toMatchObject({ status: 'CANCELLED', cancelReason: 'TIMEOUT', expiresAt: null, version: 2, total: o.total });
    expect(Date.parse(done.cancelledAt!)).toBeGreaterThanOrEqual(Date.parse(o.expiresAt!));
    expect(await counters(s, ids)).toEqual({ stockUsed: 0, couponUsed: 0, unpaid: 0, customerUses: 0 });
    // What came back can be used again.
    expect((await createOrder(s, tok, { planId: plan.id, couponCode: coupon.code })).errors).toBeUndefined();
  } finally {
    await s.stop();
  }
});

test('the timeout survives a restart: an order that expired while no server ran is cancelled soon after one starts', async () => {
  const first = await startTestServer({ ORDER_PAYMENT_TIMEOUT_SECONDS: '2' });
  const plan = await createPlan(first, { stock: 2 });
  const customer = newCustomer();
  const o = (await createOrder(first, await token(customer), { planId: plan.id })).data!.createOrder;
  await first.stop();

  // Wait, with no server running, until the order's time has passed; it must still be PENDING then.
  const db = new Client({ connectionString: first.databaseUrl });
  await db.connect();
  try {
    const query = (text: string) => db.query(text, [o.id]).then((r) => r.rows[0]);
    await until('the order’s payment time to pass', () => query(`select now() > expires_at + interval '500 milliseconds' as past from "order" where id = $1`).then((r) => r.past), 10_000);
    expect((await query(`select status from "order" where id = $1`)).status).toBe('PENDING');
  } finally {
    await db.end();
  }

  const third = await startTestServer({}, { databaseUrl: first.databaseUrl });
  try {
    const state = await until('the restarted server to cancel the expired order', async () => {
      const st = await stateOf(third, o.id);
      return st.status === 'CANCELLED' ? st : null;
    }, 15_000);
    expect(state).toMatchObject({ status: 'CANCELLED', cancel_reason: 'TIMEOUT', version: 2, expires_at: null });
    expect(await counters(third, { planId: plan.id, customerId: customer })).toMatchObject({ stockUsed: 0, unpaid: 0 });
  } finally {
    await third.stop();
  }
});

test('cancel racing the timeout on two instances: exactly one cancels, what the order held comes back exactly once', async () => {
  // Orders whose payment time is up at once, and no job runner: the timeout runs only when the test runs it.
  const env = { DB_POOL_SIZE: '12', ORDER_PAYMENT_TIMEOUT_SECONDS: '1', RUN_WORKER: 'false' };
  const a = await startTestServer(env);
  const b = await startTestServer(env, { databaseUrl: a.databaseUrl });
  try {
    const plan = await createPlan(a, { stock: 5 });
    const coupon = await createCoupon(a, { maxUses: 10, maxUsesPerUser: 5 });
    const customer = newCustomer();
    const tok = await token(customer);
    // Two orders, so a double release would show (counters at 0 instead of 1).
    const raced = (await createOrder(a, tok, { planId: plan.id, couponCode: coupon.code })).data!.createOrder;
    expect((await createOrder(a, tok, { planId: plan.id, couponCode: coupon.code })).errors).toBeUndefined();
    const ids = { planId: plan.id, couponId: coupon.id, customerId: customer };
    expect(await counters(a, ids)).toEqual({ stockUsed: 2, couponUsed: 2, unpaid: 2, customerUses: 2 });
    await until('the order’s payment time to be up', async () => (await a.sql(`select expires_at <= now() as up from "order" where id = $1`, [raced.id]))[0].up, 5_000);

    // 10 customer cancels over HTTP and 10 runs of the registered timeout handler, all at once, on both instances.
    const runs = Array.from({ length: 20 }, (_, i) => {
      const s = i % 2 ? b : a;
      if (i % 4 < 2) {
        return s.gql(CancelOrderDocument, { orderId: raced.id }, tok).then((r) => ({ kind: 'cancel', won: !r.errors, code: r.errors?.[0].extensions?.code }));
      }
      return Promise.resolve(s.app.services.tasks.order_timeout!({ orderId: raced.id }, {} as never)).then(() => ({ kind: 'timeout', won: null, code: undefined }));
    });
    const results = await Promise.all(runs);
    const cancels = results.filter((r) => r.kind === 'cancel');
    const state = await stateOf(a, raced.id);
    expect(state.status).toBe('CANCELLED');
    expect(state.version).toBe(2); // one change only
    const customerWon = cancels.filter((r) => r.won).length;
    expect(customerWon).toBe(state.cancel_reason === 'CUSTOMER' ? 1 : 0);
    expect(cancels.filter((r) => !r.won).every((r) => r.code === 'ORDER_NOT_CANCELLABLE')).toBe(true);
    expect(await counters(a, ids)).toEqual({ stockUsed: 1, couponUsed: 1, unpaid: 1, customerUses: 1 });
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('a timeout job run before the order’s payment time is up changes nothing and asks again for that time', async () => {
  const s = await startTestServer({ RUN_WORKER: 'false' });
  try {
    const plan = await createPlan(s, { stock: 5 });
    const customer = newCustomer();
    const o = (await createOrder(s, await token(customer), { planId: plan.id })).data!.createOrder;
    const before = await stateOf(s, o.id);
    await s.app.services.tasks.order_timeout!({ orderId: o.id }, {} as never);
    expect(await stateOf(s, o.id)).toEqual(before);
    expect(before.status).toBe('PENDING');
    expect(await counters(s, { planId: plan.id, customerId: customer })).toMatchObject({ stockUsed: 1, unpaid: 1 });
    const jobs = await s.sql<{ run_at: Date }>(`select run_at from ${PENDING_JOBS} where task = 'order_timeout' and key = $1`, [`order_timeout:${o.id}`]);
    expect(jobs.map((j) => j.run_at.getTime())).toContain(before.expires_at!.getTime());
  } finally {
    await s.stop();
  }
});
