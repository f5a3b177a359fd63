import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { adminOrdersQuery, normaliseOrderFilter, type OrderSearchFilter } from '../../src/modules/order/order-search';
import { encodeCursor } from '../../src/shared/cursor';
import { AdminCustomersDocument, AdminOrdersDocument, type AdminOrdersQueryVariables, type OrderFilter } from '../__generated__/graphql';
import { MALFORMED_CURSORS, adminToken, expectCode, ok, readAll } from '../support/backoffice';
import { CREDIT, PAY_WALLET, cancelOrder, createOrder, createPlan, createProviderPlan, newCustomer, type TestCustomer } from '../support/payments-fixtures';
import { startTestServer, token, type TestServer } from '../support/server';

let s: TestServer;
let admin: string;
beforeAll(async () => {
  // Customers here hold more unpaid orders than the default allows, to page through them.
  s = await startTestServer({ MAX_UNPAID_ORDERS: '100' });
  admin = await adminToken();
});
afterAll(() => s.stop());

const list = (variables: AdminOrdersQueryVariables, auth: string | null = admin) => s.gql(AdminOrdersDocument, variables, auth);
/** The ids of the orders `filter` lists (every page of 100), in list order. */
async function idsOf(filter: OrderFilter): Promise<string[]> {
  const nodes = await readAll(async (after) => ok(await list({ filter, first: 100, after })).orders);
  return nodes.map((n) => n.id);
}
const orderOf = async (c: TestCustomer, planId: string) => (await createOrder(s, c, planId)).id;

/** Pays an order from the customer's wallet, credited by an admin first. */
async function payWithWallet(c: TestCustomer, orderId: string, amount: number): Promise<void> {
  ok(await s.gql(CREDIT, { customerId: c.id, amount, reference: `topup-${randomUUID()}` }, admin));
  ok(await s.gql(PAY_WALLET, { orderId }, c.token));
}

describe('orders (admin)', () => {
  test('lists every customer’s orders, newest first, with their fields', async () => {
    const planId = await createPlan(s, 1500);
    const [a, b] = [await newCustomer(s), await newCustomer(s)];
    const o1 = await orderOf(a, planId);
    const o2 = await orderOf(b, planId);
    const o3 = await orderOf(a, planId);
    const page = ok(await list({ first: 100 })).orders;
    const ids = page.edges.map((e) => e.node.id);
    expect(ids.slice(0, 3)).toEqual([o3, o2, o1]);
    const times = page.edges.map((e) => Date.parse(e.node.createdAt));
    expect([...times].sort((x, y) => y - x)).toEqual(times);
    expect(page.edges[0].node).toMatchObject({ id: o3, status: 'PENDING', paymentMethod: null, plan: { id: planId }, total: { amount: 1725 } });
    expect(page.edges[0].node.number).toMatch(/^ORD-\d{6,}$/);
    // 20 by default.
    const planB = await createPlan(s, 100);
    const c = await newCustomer(s);
    for (let i = 0; i < 21; i++) await orderOf(c, planB);
    const byDefault = ok(await list({ filter: { planId: planB } })).orders;
    expect(byDefault.edges).toHaveLength(20);
    expect(byDefault.pageInfo.hasNextPage).toBe(true);
  });

  test('filters by customer, status, plan, number and payment method, each alone and combined (AND)', async () => {
    const { planId } = await createProviderPlan(s, 2000); // orders of a provider's plan stay PAID
    const other = await createPlan(s, 1000);
    const x = await newCustomer(s);
    const y = await newCustomer(s);
    const pending1 = await orderOf(x, planId);
    const cancelled = await orderOf(x, planId);
    expect(await cancelOrder(s, x, cancelled)).toBeUndefined();
    const paid = await orderOf(x, planId);
    await payWithWallet(x, paid, 2300);
    const pending2 = await orderOf(x, planId);
    const xOther = await orderOf(x, other);
    const yOrder = await orderOf(y, planId);

    expect(await idsOf({ customerId: x.id })).toEqual([xOther, pending2, paid, cancelled, pending1]);
    expect(await idsOf({ customerId: y.id })).toEqual([yOrder]);
    expect(await idsOf({ planId })).toEqual([yOrder, pending2, paid, cancelled, pending1]);
    expect(await idsOf({ planId, status: 'PENDING' })).toEqual([yOrder, pending2, pending1]);
    expect(await idsOf({ customerId: x.id, status: 'PENDING' })).toEqual([xOther, pending2, pending1]);
    expect(await idsOf({ customerId: x.id, planId, status: 'PENDING' })).toEqual([pending2, pending1]);
    expect(await idsOf({ customerId: x.id, status: 'PAID' })).toEqual([paid]);
    expect(await idsOf({ customerId: x.id, status: 'DELIVERED' })).toEqual([]);
    expect(await idsOf({ customerId: x.id, paymentMethod: 'WALLET' })).toEqual([paid]);
    expect(await idsOf({ customerId: x.id, paymentMethod: 'GATEWAY' })).toEqual([]);

    // Alone, a status lists every customer's orders of that status, and only them.
    const cancelledAll = ok(await list({ filter: { status: 'CANCELLED' }, first: 100 })).orders.edges.map((e) => e.node);
    expect(cancelledAll.map((n) => n.id)).toContain(cancelled);
    expect(new Set(cancelledAll.map((n) => n.status))).toEqual(new Set(['CANCELLED']));
    const wallet = ok(await list({ filter: { paymentMethod: 'WALLET' }, first: 100 })).orders.edges.map((e) => e.node);
    expect(wallet.map((n) => n.id)).toContain(paid);
    expect(new Set(wallet.map((n) => n.paymentMethod))).toEqual(new Set(['WALLET']));

    // A number, as printed or typed loosely (any case, no padding, spaces around).
    const [{ number }] = await s.sql<{ number: string }>(`select number from "order" where id = $1`, [paid]);
    const digits = String(Number(number.slice(4)));
    for (const n of [number, number.toLowerCase(), `  ${number} `, `ORD-${digits}`, digits]) expect(await idsOf({ number: n })).toEqual([paid]);
    expect(await idsOf({ number, status: 'PENDING' })).toEqual([]);
    expect(await idsOf({ number, customerId: y.id })).toEqual([]);
    expect(await idsOf({ number: 'ORD-999999999' })).toEqual([]);

    // Unknown customers and plans list nothing.
    expect(await idsOf({ customerId: `nobody-${randomUUID()}` })).toEqual([]);
    expect(await idsOf({ planId: randomUUID() })).toEqual([]);
  });

  test('a date range: createdAfter is inclusive, createdBefore exclusive', async () => {
    const planId = await createPlan(s, 1000);
    const c = await newCustomer(s);
    const ids: string[] = [];
    for (let day = 1; day <= 4; day++) {
      const id = await orderOf(c, planId);
      await s.sql(`update "order" set created_at = $2 where id = $1`, [id, `2020-01-0${day}T12:00:00Z`]);
      ids.push(id);
    }
    const [d1, d2, d3, d4] = ids;
    expect(await idsOf({ customerId: c.id, createdAfter: '2020-01-02T12:00:00Z', createdBefore: '2020-01-04T12:00:00Z' })).toEqual([d3, d2]);
    expect(await idsOf({ customerId: c.id, createdAfter: '2020-01-03T12:00:00Z' })).toEqual([d4, d3]);
    expect(await idsOf({ customerId: c.id, createdBefore: '2020-01-02T12:00:00Z' })).toEqual([d1]);
    // Alone (no other order of the database is that old), and with a status.
    expect(await idsOf({ createdAfter: '2020-01-01T00:00:00Z', createdBefore: '2020-01-05T00:00:00Z' })).toEqual([d4, d3, d2, d1]);
    expect(await idsOf({ status: 'PENDING', createdAfter: '2020-01-01T00:00:00Z', createdBefore: '2020-01-02T13:00:01+01:00' })).toEqual([d2, d1]);
    expect(await idsOf({ planId, createdBefore: '2020-01-03T00:00:00Z' })).toEqual([d2, d1]);
  });

  test('pages are stable while orders are added: no order missed or repeated', async () => {
    const planId = await createPlan(s, 1000);
    const c = await newCustomer(s);
    const made: string[] = [];
    for (let i = 0; i < 8; i++) made.push(await orderOf(c, planId));
    // A new order between pages, for the same customer and plan: newer than every cursor, so it only
    // shows on a first page read afterwards.
    const addOne = async () => void made.push(await orderOf(c, planId));
    for (const filter of [{ customerId: c.id }, { planId }, { customerId: c.id, status: 'PENDING' as const }, {}]) {
      const atStart = [...made].reverse();
      const seen = (await readAll(async (after) => ok(await list({ filter, first: 3, after })).orders, addOne)).map((n) => n.id);
      expect(made.length).toBeGreaterThan(atStart.length);
      expect(new Set(seen).size).toBe(seen.length);
      // Without a filter the list holds other tests' orders too: ours must be there in order all the same.
      expect(seen.filter((id) => made.includes(id))).toEqual(atStart);
    }
  });

  test('FORBIDDEN to customers and providers, UNAUTHENTICATED without a token', async () => {
    expectCode(await list({}, await token(`cust-${randomUUID()}`)), 'FORBIDDEN');
    expectCode(await list({ filter: { status: 'PAID' } }, await token(`prov-${randomUUID()}`, 'provider')), 'FORBIDDEN');
    expectCode(await list({}, null), 'UNAUTHENTICATED');
  });

  test('first outside 1..100, malformed cursors and impossible filters are BAD_USER_INPUT', async () => {
    for (const first of [0, -1, 101, 1000]) expect(expectCode(await list({ first }), 'BAD_USER_INPUT').field).toBe('first');
    for (const after of MALFORMED_CURSORS) expectCode(await list({ after }), 'BAD_USER_INPUT');
    // A cursor of the customer list is not one of this list.
    const customers = ok(await s.gql(AdminCustomersDocument, { first: 1 }, admin)).customers;
    expectCode(await list({ after: customers.pageInfo.endCursor }), 'BAD_USER_INPUT');
    expectCode(await list({ after: encodeCursor({ micros: '0', id: 'not-a-uuid' }) }), 'BAD_USER_INPUT');

    expect(expectCode(await list({ filter: { planId: 'not-a-uuid' } }), 'BAD_USER_INPUT').field).toBe('filter.planId');
    for (const number of ['abc', 'ORD-', 'ORD-12a', '12.5']) expect(expectCode(await list({ filter: { number } }), 'BAD_USER_INPUT').field).toBe('filter.number');
    const range = { createdAfter: '2026-01-02T00:00:00Z', createdBefore: '2026-01-01T00:00:00Z' };
    expect(expectCode(await list({ filter: range }), 'BAD_USER_INPUT').field).toBe('filter.createdBefore');
    expectCode(await list({ filter: { createdAfter: '2026-01-01T00:00:00Z', createdBefore: '2026-01-01T00:00:00Z' } }), 'BAD_USER_INPUT');
    expectCode(await list({ filter: { customerId: 'x'.repeat(65) } }), 'BAD_USER_INPUT');
    // Still serving.
    expect(ok(await list({ first: 100 })).orders.edges.length).toBeGreaterThan(0);
  });

  // Last: it adds 30,000 old orders to this file's database.
  test('every filter an admin starts from is served by an index read in list order, never a scan or a sort', async () => {
    const planA = await createPlan(s, 1000);
    const planB = await createPlan(s, 1000);
    await s.sql(`insert into customer (id, role) select 'bulk-' || g, 'customer' from generate_series(1, 300) g on conflict do nothing`);
    await s.sql(
      `insert into "order" (id, number, customer_id, plan_id, currency, subtotal, discount, tax, total, status, payment_method, created_at)
       select gen_random_uuid(), 'ORD-' || (900000000 + g), 'bulk-' || (g % 300 + 1), case when g > 22500 then $2::uuid else $1::uuid end,
              'USD', 1000, 0, 150, 1150, status, case when status in ('PAID', 'DELIVERED', 'REFUNDED') then 'WALLET' end,
              timestamptz '2018-06-01' - g * interval '1 minute'
         from (select g, case when g % 97 = 0 then 'REFUNDED' when g % 10 in (3, 6) then 'CANCELLED' when g % 10 = 4 then 'PAID' else 'DELIVERED' end as status
                 from generate_series(1, 30000) g) bulk`,
      [planA, planB],
    );
    const client = new Client({ connectionString: s.databaseUrl });
    await client.connect();
    try {
      await client.query('analyze "order"');
      const [middle] = (await client.query(`select id, (extract(epoch from created_at) * 1000000)::bigint::text as micros from "order" where number = 'ORD-900015000'`)).rows;
      const number = 'ORD-900012345';
      const explain = async (filter: OrderSearchFilter, withCursor = false) => {
        const { sql, params } = adminOrdersQuery(normaliseOrderFilter(filter), withCursor ? { createdAtMicros: middle.micros, id: middle.id } : null, 21);
        let i = 0;
        const { rows } = await client.query(`explain ${sql.replace(/\?/g, () => `$${++i}`)}`, params);
        return rows.map((r) => r['QUERY PLAN']).join('\n');
      };
      const range = { createdAfter: new Date('2018-05-20T00:00:00Z'), createdBefore: new Date('2018-05-27T00:00:00Z') };
      // [index, filter, after a cursor inside the data, few rows match (a bitmap read and a sort of them is as good)].
      // Plan B has a quarter of the orders, all of them the oldest: walking an index on created_at alone and
      // skipping other plans' rows (what the statistics suggest for a quarter) would read most of the table.
      const cases: Array<[string, OrderSearchFilter, boolean, boolean?]> = [
        ['order_created_utc_idx', {}, true],
        ['order_created_utc_idx', range, false],
        ['order_created_utc_idx', { paymentMethod: 'WALLET' as never }, true],
        ['order_customer_created_idx', { customerId: 'bulk-7' }, true],
        ['order_customer_created_idx', { customerId: 'bulk-7', status: 'PAID' as never }, false, true],
        ['order_status_created_idx', { status: 'REFUNDED' as never }, false, true],
        ['order_status_created_idx', { status: 'DELIVERED' as never }, true],
        ['order_status_created_idx', { status: 'REFUNDED' as never, ...range }, false, true],
        ['order_plan_created_idx', { planId: planB }, true],
        ['order_plan_created_idx', { planId: planA, ...range }, false],
        ['order_plan_status_created_idx', { planId: planB, status: 'REFUNDED' as never }, false, true],
      ];
      const wrong: string[] = [];
      for (const [index, filter, withCursor, few] of cases) {
        const plan = await explain(filter, withCursor);
        if (!new RegExp(`\\b${index}\\b`).test(plan) || plan.includes('Seq Scan') || (!few && plan.includes('Sort'))) {
          wrong.push(`${JSON.stringify(filter)}${withCursor ? ' after a cursor' : ''}: expected ${index}${few ? '' : ' read in order'}, got\n${plan}`);
        }
      }
      expect(wrong).toEqual([]);
      // A number names one order at most: its unique index finds it.
      expect(await explain({ number })).toContain('order_number_unique');
      expect(await explain({ number })).not.toContain('Seq Scan');
    } finally {
      await client.end();
    }
  });
});
