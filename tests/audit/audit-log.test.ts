import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { auditLogQuery } from '../../src/modules/audit/audit.service';
import { encodeCursor } from '../../src/shared/cursor';
import {
  AuditDeliveryStatusDocument,
  AuditLogDocument,
  CancelOrderDocument,
  CreateCouponDocument,
  CreatePlanDocument,
  CreditWalletDocument,
  PayWithGatewayDocument,
  PayWithWalletDocument,
  RefundOrderDocument,
  SetCouponEnabledDocument,
  SetCustomerGroupDocument,
  UpdatePlanDocument,
  type AuditLogQueryVariables,
} from '../__generated__/graphql';
import { MALFORMED_CURSORS, expectCode, ok, readAll } from '../support/backoffice';
import { createOrder, createProviderPlan, credit, newCustomer } from '../support/payments-fixtures';
import { startTestServer, token, type TestServer } from '../support/server';
import { STRIPE_TEST_KEYS, checkoutEvent, postWebhook, startStripeStub } from '../support/stripe-stub';
import { until } from '../support/until';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.stop());

/** An admin of one test: its id (the actor its entries name) and a token. */
async function newAdmin(): Promise<{ id: string; token: string }> {
  const id = `admin-${randomUUID()}`;
  return { id, token: await token(id, 'admin') };
}

let reader: string;
beforeAll(async () => {
  reader = (await newAdmin()).token;
});

type Entry = { id: string; at: string; actor: string; action: string; targetType: string; targetId: string; details?: string | null };

const log = (server: TestServer, variables: AuditLogQueryVariables, auth: string | null = reader) => server.gql(AuditLogDocument, variables, auth);
/** Every entry the arguments list, newest first, read in pages of `first`. */
const all = (variables: AuditLogQueryVariables, first = 100, server = s): Promise<Entry[]> =>
  readAll(async (after) => ok(await log(server, { ...variables, first, after })).auditLog);
/** The entries of `actor`, oldest first, as (action, targetType, targetId) and parsed details. */
async function doneBy(actor: string, server = s) {
  return (await all({ actor }, 100, server)).reverse().map((e) => ({ action: e.action, targetType: e.targetType, targetId: e.targetId, details: e.details ? JSON.parse(e.details) : null }));
}
/** Rows of the audit log, straight from the database. */
const count = async (server = s): Promise<number> => (await server.sql<{ n: number }>(`select count(*)::int as n from audit_entry`))[0].n;

/** A provider plan, a customer with money, and a PAID order of it. */
async function paidOrder(price = 1000) {
  const { planId, provider } = await createProviderPlan(s, price);
  const customer = await newCustomer(s);
  await credit(s, customer.id, 100_000);
  const order = await createOrder(s, customer, planId);
  ok(await s.gql(PayWithWalletDocument, { orderId: order.id }, customer.token));
  return { planId, provider, customer, order };
}

describe('the audit log records', () => {
  test('every admin mutation once, in order, naming the admin, what it touched and the arguments that mattered', async () => {
    const admin = await newAdmin();
    const { provider } = await createProviderPlan(s, 500);
    const plan = ok(await s.gql(CreatePlanDocument, { input: { name: 'Audited', price: 4900, stock: 10, groups: ['default'], providerId: provider.id } }, admin.token)).createPlan;
    ok(await s.gql(UpdatePlanDocument, { id: plan.id, input: { price: 5900, saleStatus: 'HIDDEN' } }, admin.token));
    const code = `AUD${randomUUID().slice(0, 8)}`;
    const coupon = ok(await s.gql(CreateCouponDocument, { input: { code: ` ${code} `, kind: 'PERCENT', value: 15, maxUses: 5 } }, admin.token)).createCoupon;
    ok(await s.gql(SetCouponEnabledDocument, { id: coupon.id, enabled: false }, admin.token));
    const customer = await newCustomer(s);
    ok(await s.gql(SetCustomerGroupDocument, { customerId: customer.id, group: 'partners' }, admin.token));
    const reference = `ref-${randomUUID()}`;
    ok(await s.gql(CreditWalletDocument, { customerId: customer.id, amount: 2500, reference }, admin.token));
    // The same credit again changes nothing, so it records nothing.
    ok(await s.gql(CreditWalletDocument, { customerId: customer.id, amount: 2500, reference }, admin.token));
    const { planId } = await createProviderPlan(s, 700);
    const order = await createOrder(s, customer, planId);
    ok(await s.gql(CancelOrderDocument, { orderId: order.id }, admin.token));

    const entries = await doneBy(admin.id);
    expect(entries.map((e) => [e.action, e.targetType, e.targetId])).toEqual([
      ['createPlan', 'Plan', plan.id],
      ['updatePlan', 'Plan', plan.id],
      ['createCoupon', 'Coupon', coupon.id],
      ['setCouponEnabled', 'Coupon', coupon.id],
      ['setCustomerGroup', 'Customer', customer.id],
      ['creditWallet', 'Wallet', customer.id],
      ['cancelOrder', 'Order', order.id],
    ]);
    const [created, updated, coupons, enabled, grouped, credited, cancelled] = entries.map((e) => e.details);
    expect(created).toMatchObject({ name: 'Audited', price: 4900, stock: 10, groups: ['default'], providerId: provider.id });
    expect(updated).toEqual({ price: 5900, saleStatus: 'HIDDEN', before: { price: 4900, saleStatus: 'ON_SALE' } });
    expect(coupons).toMatchObject({ code, kind: 'PERCENT', value: 15, maxUses: 5 });
    expect(enabled).toEqual({ enabled: false, code });
    expect(grouped).toEqual({ group: 'partners', previousGroup: 'default' });
    expect(credited).toMatchObject({ amount: 2500, reference });
    expect(cancelled).toMatchObject({ reason: 'ADMIN' });

    // Every entry answers with its time and id; the customer's own cancel is not an admin mutation.
    const own = await createOrder(s, customer, planId);
    ok(await s.gql(CancelOrderDocument, { orderId: own.id }, customer.token));
    expect(await all({ targetId: own.id })).toEqual([]);
    expect(await doneBy(customer.id)).toEqual([]);
  });

  test("an admin's refundOrder", async () => {
    const admin = await newAdmin();
    const { order } = await paidOrder(1000);
    ok(await s.gql(RefundOrderDocument, { orderId: order.id }, admin.token));
    const [entry] = await all({ actor: admin.id });
    expect(entry).toMatchObject({ action: 'refundOrder', targetType: 'Order', targetId: order.id });
    expect(JSON.parse(entry.details!)).toMatchObject({ amount: order.total, method: 'WALLET' });
  });

  test('setDeliveryStatus by the provider and by an admin', async () => {
    const admin = await newAdmin();
    const { provider, order } = await paidOrder();
    ok(await s.gql(AuditDeliveryStatusDocument, { orderId: order.id, status: 'IN_PROGRESS' }, provider.token));
    ok(await s.gql(AuditDeliveryStatusDocument, { orderId: order.id, status: 'CANCELLED' }, admin.token));
    const entries = (await all({ targetId: order.id })).reverse();
    expect(entries.map((e) => [e.actor, e.action, e.targetType, JSON.parse(e.details!)])).toEqual([
      [provider.id, 'setDeliveryStatus', 'Order', { from: 'NEW', to: 'IN_PROGRESS', as: 'PROVIDER' }],
      [admin.id, 'setDeliveryStatus', 'Order', { from: 'IN_PROGRESS', to: 'CANCELLED', as: 'ADMIN' }],
    ]);
  });
});

describe('the audit log is kept with its changes', () => {
  test('a failed mutation writes no entry, even when it fails after its entry was written', async () => {
    const admin = await newAdmin();
    const code = `DUP${randomUUID().slice(0, 8)}`;
    ok(await s.gql(CreateCouponDocument, { input: { code, kind: 'FIXED', value: 100 } }, admin.token));
    const customer = await newCustomer(s);
    // A wallet near the most it may hold: the credit below is refused by the ledger, after the credit's reference was claimed.
    await credit(s, customer.id, 1);
    await s.sql(`update wallet set balance = 2147483000 where customer_id = $1`, [customer.id]);
    const { provider, order } = await paidOrder();
    const before = await count();

    // The same code in another case: refused by the unique index when the transaction flushes, after
    // the entry was written in it.
    expectCode(await s.gql(CreateCouponDocument, { input: { code: code.toLowerCase(), kind: 'FIXED', value: 100 } }, admin.token), 'BAD_USER_INPUT');
    // Refused before anything is written.
    expectCode(await s.gql(UpdatePlanDocument, { id: randomUUID(), input: { price: 1 } }, admin.token), 'NOT_FOUND');
    expectCode(await s.gql(CreditWalletDocument, { customerId: customer.id, amount: 100_000_000, reference: `ref-${randomUUID()}` }, admin.token), 'BAD_USER_INPUT');
    expectCode(await s.gql(AuditDeliveryStatusDocument, { orderId: order.id, status: 'COMPLETED' }, provider.token), 'INVALID_STATUS_TRANSITION');
    expect(await count()).toBe(before);
    expect((await doneBy(admin.id)).map((e) => e.action)).toEqual(['createCoupon']);
  });

  test('the database refuses to change, delete or truncate an entry', async () => {
    const admin = await newAdmin();
    const customer = await newCustomer(s);
    ok(await s.gql(SetCustomerGroupDocument, { customerId: customer.id, group: 'g1' }, admin.token));
    const [row] = await s.sql(`select * from audit_entry where actor = $1`, [admin.id]);
    await expect(s.sql(`update audit_entry set actor = 'someone-else' where id = $1`, [row.id])).rejects.toThrow(/never changed or deleted/);
    await expect(s.sql(`update audit_entry set details = null`)).rejects.toThrow(/never changed or deleted/);
    await expect(s.sql(`delete from audit_entry where id = $1`, [row.id])).rejects.toThrow(/never changed or deleted/);
    await expect(s.sql(`truncate audit_entry`)).rejects.toThrow(/never changed or deleted/);
    expect(await s.sql(`select * from audit_entry where actor = $1`, [admin.id])).toEqual([row]);
  });

  test('what the system does on its own: a payment timeout, a delivery that fails for good', async () => {
    // The provisioning system of automatic deliveries is down; one try only.
    const provisioning = http.createServer((_req, res) => res.writeHead(503).end());
    await new Promise<void>((r) => provisioning.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(provisioning.address() as AddressInfo).port}/provision`;
    const f = await startTestServer({ ORDER_PAYMENT_TIMEOUT_SECONDS: '3', DELIVERY_WEBHOOK_URL: url, DELIVERY_MAX_ATTEMPTS: '1' });
    try {
      const admin = await newAdmin();
      const plan = ok(await f.gql(CreatePlanDocument, { input: { name: 'Automatic', price: 800 } }, admin.token)).createPlan;
      const customer = await newCustomer(f);
      ok(await f.gql(CreditWalletDocument, { customerId: customer.id, amount: 10_000, reference: `ref-${randomUUID()}` }, admin.token));
      const unpaid = await createOrder(f, customer, plan.id);
      const paid = await createOrder(f, customer, plan.id);
      ok(await f.gql(PayWithWalletDocument, { orderId: paid.id }, customer.token));

      const timedOut = await until('the timeout entry of the unpaid order', async () => (await all({ targetId: unpaid.id }, 100, f))[0]);
      expect(timedOut).toMatchObject({ actor: 'system:timeout', action: 'orderTimeout', targetType: 'Order', targetId: unpaid.id });
      const failed = await until('the delivery failure entry of the paid order', async () => (await all({ targetId: paid.id }, 100, f))[0]);
      expect(failed).toMatchObject({ actor: 'system:delivery', action: 'deliveryFailed', targetType: 'Order', targetId: paid.id });
      expect(JSON.parse(failed.details!)).toMatchObject({ attempts: 1 });
      // One entry each, and the paid order was not timed out.
      expect((await all({ actor: 'system:timeout' }, 100, f)).map((e) => e.targetId)).toEqual([unpaid.id]);
      expect(await all({ targetId: paid.id }, 100, f)).toHaveLength(1);
    } finally {
      await f.stop();
      provisioning.close();
    }
  });
});

describe('gateway events that pay nothing are recorded, so an admin can answer "I paid, but…"', () => {
  test('a payment of another amount, a payment after the order was cancelled, an expired session, a failed delayed payment', async () => {
    const stub = await startStripeStub();
    const g = await startTestServer({ ...STRIPE_TEST_KEYS, STRIPE_API_URL: stub.url });
    try {
      const reader = await token(`admin-${randomUUID()}`, 'admin');
      const { planId } = await createProviderPlan(g, 2000);
      /** A customer's pending order with its Checkout Session open. */
      const checkout = async () => {
        const c = await newCustomer(g);
        const order = await createOrder(g, c, planId);
        const url = ok(await g.gql(PayWithGatewayDocument, { orderId: order.id }, c.token)).payWithGateway.checkoutUrl;
        return { c, order, session: { id: url.split('/').pop()!, amount_total: order.total, currency: 'usd', orderId: order.id } };
      };
      const entriesOf = async (orderId: string) =>
        ok(await log(g, { targetId: orderId }, reader)).auditLog.edges.map((e) => ({ actor: e.node.actor, action: e.node.action, details: JSON.parse(e.node.details!) }));

      const short = await checkout();
      expect((await postWebhook(g.url, checkoutEvent({ ...short.session, amount_total: short.order.total - 1 }))).status).toBe(200);
      expect(await entriesOf(short.order.id)).toEqual([
        {
          actor: 'system:gateway',
          action: 'paymentMismatch',
          details: expect.objectContaining({ sessionId: short.session.id, paid: { amount: short.order.total - 1, currency: 'USD' }, expected: { amount: short.order.total, currency: 'USD' } }),
        },
      ]);

      const late = await checkout();
      ok(await g.gql(CancelOrderDocument, { orderId: late.order.id }, late.c.token));
      expect((await postWebhook(g.url, checkoutEvent(late.session))).status).toBe(200);
      expect(await entriesOf(late.order.id)).toEqual([
        { actor: 'system:gateway', action: 'latePaymentRefund', details: expect.objectContaining({ sessionId: late.session.id, amount: late.order.total, orderStatus: 'CANCELLED' }) },
      ]);

      const expired = await checkout();
      const sessionEvent = (type: string, session: { id: string }) => ({ id: `evt_${randomUUID()}`, object: 'event', type, data: { object: { id: session.id, object: 'checkout.session', amount_total: 2300, currency: 'usd' } } });
      expect((await postWebhook(g.url, sessionEvent('checkout.session.expired', expired.session))).status).toBe(200);
      // Stripe says it again: the session is already expired here, so nothing more is recorded.
      expect((await postWebhook(g.url, sessionEvent('checkout.session.expired', expired.session))).status).toBe(200);
      expect(await entriesOf(expired.order.id)).toEqual([{ actor: 'system:gateway', action: 'checkoutExpired', details: expect.objectContaining({ sessionId: expired.session.id }) }]);

      const declined = await checkout();
      expect((await postWebhook(g.url, sessionEvent('checkout.session.async_payment_failed', declined.session))).status).toBe(200);
      expect(await entriesOf(declined.order.id)).toEqual([{ actor: 'system:gateway', action: 'asyncPaymentFailed', details: expect.objectContaining({ sessionId: declined.session.id }) }]);
      // The order can still be paid: a new session is opened for it.
      const again = ok(await g.gql(PayWithGatewayDocument, { orderId: declined.order.id }, declined.c.token)).payWithGateway.checkoutUrl;
      expect(again.split('/').pop()).not.toBe(declined.session.id);

      // Every refund that came of it reached Stripe.
      await until('the refunds of the two charges', async () => stub.requestsTo('/v1/refunds').filter((r) => r.outcome === 'ok').length === 2);
    } finally {
      await g.stop();
      await stub.close();
    }
  });
});

describe('auditLog', () => {
  test('is for admins only', async () => {
    const customer = await newCustomer(s);
    const provider = await token(`prov-${randomUUID()}`, 'provider');
    expectCode(await log(s, {}, customer.token), 'FORBIDDEN');
    expectCode(await log(s, {}, provider), 'FORBIDDEN');
    expectCode(await log(s, {}, null), 'UNAUTHENTICATED');
  });

  test('filters by actor, by target and both (AND), newest first, in pages that stay stable while entries are added', async () => {
    const [a, b] = [await newAdmin(), await newAdmin()];
    const { planId: p1 } = await createProviderPlan(s, 100);
    const { planId: p2 } = await createProviderPlan(s, 100);
    const update = (admin: { token: string }, id: string, price: number) => s.gql(UpdatePlanDocument, { id, input: { price } }, admin.token).then(ok);
    for (let price = 1; price <= 7; price++) await update(a, p1, price);
    for (let price = 11; price <= 13; price++) await update(a, p2, price);
    for (let price = 21; price <= 22; price++) await update(b, p1, price);

    const priceOf = (e: Entry) => JSON.parse(e.details!).price as number;
    // Pages of 3, with a new entry of the same actor and target added after every page: the new ones
    // are newer than the first page, so the pages already read stay as they were.
    let added = 100;
    const paged = await readAll(
      async (after) => ok(await log(s, { actor: a.id, first: 3, after })).auditLog,
      async () => void (await update(a, p1, added++)),
    );
    expect(paged.map(priceOf)).toEqual([13, 12, 11, 7, 6, 5, 4, 3, 2, 1]);
    expect(new Set(paged.map((e) => e.id)).size).toBe(10);
    const ats = paged.map((e) => Date.parse(e.at));
    expect([...ats].sort((x, y) => y - x)).toEqual(ats);

    expect((await all({ actor: a.id })).map(priceOf)).toEqual([102, 101, 100, 13, 12, 11, 7, 6, 5, 4, 3, 2, 1]);
    expect((await all({ targetId: p1 })).filter((e) => e.action === 'updatePlan').map(priceOf)).toEqual([102, 101, 100, 22, 21, 7, 6, 5, 4, 3, 2, 1]);
    expect((await all({ targetId: p1, actor: b.id })).map(priceOf)).toEqual([22, 21]);
    expect((await all({ targetId: p2, actor: b.id })).map(priceOf)).toEqual([]);
    expect(await all({ actor: `nobody-${randomUUID()}` })).toEqual([]);
    // Without a filter: everything, newest first.
    const everything = await all({});
    expect(everything).toHaveLength(await count());
    expect(everything.slice(0, 3).map(priceOf)).toEqual([102, 101, 100]);
  });

  test('first is 1 to 100 (default 20); a cursor it did not return is BAD_USER_INPUT', async () => {
    const admin = await newAdmin();
    const { planId } = await createProviderPlan(s, 100);
    for (let price = 1; price <= 21; price++) ok(await s.gql(UpdatePlanDocument, { id: planId, input: { price } }, admin.token));
    const page = ok(await log(s, { actor: admin.id })).auditLog;
    expect(page.edges).toHaveLength(20);
    expect(page.pageInfo.hasNextPage).toBe(true);
    for (const first of [0, -1, 101]) expect(expectCode(await log(s, { first }), 'BAD_USER_INPUT').field).toBe('first');
    for (const after of MALFORMED_CURSORS) expectCode(await log(s, { after }), 'BAD_USER_INPUT');
    expectCode(await log(s, { after: encodeCursor({ micros: '0', id: 'customer-id' }) }), 'BAD_USER_INPUT');
    expectCode(await log(s, { actor: 'x'.repeat(81) }), 'BAD_USER_INPUT');
  });

  // Last: it adds 30,000 entries to this file's database.
  test('each filter is served by its index read in list order, never a scan or a sort', async () => {
    await s.sql(
      `insert into audit_entry (id, at, actor, action, target_type, target_id, details)
       select gen_random_uuid(), timestamptz '2018-06-01' - g * interval '1 minute', 'bulk-admin-' || (g % 30), 'updatePlan', 'Plan',
              'bulk-target-' || (g % 7), '{}'::jsonb
         from generate_series(1, 30000) g`,
    );
    const client = new Client({ connectionString: s.databaseUrl });
    await client.connect();
    try {
      await client.query('analyze audit_entry');
      const explain = async (filter: { actor: string | null; targetId: string | null }, withCursor: boolean) => {
        // A cursor inside the filter's rows: the 41st of them.
        const { sql: pageSql, params: pageParams } = auditLogQuery(filter, null, 41);
        let j = 0;
        const middle = (await client.query(pageSql.replace(/\?/g, () => `$${++j}`), pageParams)).rows.at(-1);
        const { sql, params } = auditLogQuery(filter, withCursor ? { micros: middle.micros, id: middle.id } : null, 21);
        let i = 0;
        const { rows } = await client.query(`explain ${sql.replace(/\?/g, () => `$${++i}`)}`, params);
        return rows.map((r) => r['QUERY PLAN']).join('\n');
      };
      const cases: Array<[RegExp, { actor: string | null; targetId: string | null }, boolean]> = [
        [/audit_entry_at_idx/, { actor: null, targetId: null }, false],
        [/audit_entry_at_idx/, { actor: null, targetId: null }, true],
        [/audit_entry_actor_idx/, { actor: 'bulk-admin-7', targetId: null }, false],
        [/audit_entry_actor_idx/, { actor: 'bulk-admin-7', targetId: null }, true],
        [/audit_entry_target_idx/, { actor: null, targetId: 'bulk-target-3' }, false],
        [/audit_entry_target_idx/, { actor: null, targetId: 'bulk-target-3' }, true],
        [/audit_entry_actor_target_idx/, { actor: 'bulk-admin-7', targetId: 'bulk-target-3' }, false],
        [/audit_entry_actor_target_idx/, { actor: 'bulk-admin-7', targetId: 'bulk-target-3' }, true],
      ];
      for (const [index, filter, withCursor] of cases) {
        const plan = await explain(filter, withCursor);
        if (!index.test(plan) || /Seq Scan|Sort/.test(plan)) throw new Error(`${JSON.stringify(filter)}${withCursor ? ' after a cursor' : ''}: expected ${index}, got\n${plan}`);
      }
    } finally {
      await client.end();
    }
  });
});
