import { Client } from 'pg';
import { customerPagesStatement, readCustomerPage, type CustomerPageAsk } from '../../src/modules/order/customer-pages';
import { pageOfRows, WHOLE_ROWS } from '../../src/modules/order/order-page';
import { decodeOrderCursor } from '../../src/modules/order/order.cursor';
import { OrderStatus } from '../../src/modules/order/order.entity';
import { watchSent } from '../support/driver';
import { createPlan } from '../support/orders';
import { startTestServer, token, type TestServer } from '../support/server';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.stop());

const PAGE = `query($first: Int, $after: String, $status: OrderStatus) {
  myOrders(first: $first, after: $after, status: $status) {
    edges { cursor node { id number status total { amount currency } createdAt paidAt version delivery { id status } plan { id } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

/**
 * Customers `<prefix>0..count-1` with orders of mixed statuses, some sharing a creation moment (the id
 * orders them then), some with a delivery.
 */
async function seed(prefix: string, count: number, perCustomer: number): Promise<string[]> {
  const plan = await createPlan(s);
  const ids = Array.from({ length: count }, (_, i) => `${prefix}${i}`);
  await s.sql(`insert into customer (id, role) select unnest($1::text[]), 'customer' on conflict do nothing`, [ids]);
  await s.sql(
    `insert into "order" (id, number, customer_id, plan_id, currency, subtotal, discount, tax, total, status, created_at, paid_at)
     select gen_random_uuid(), $2 || c || '-' || g, $2 || c, $1, 'USD', 1000 + g, 0, 0, 1000 + g,
            (array['PENDING','PAID','CANCELLED','DELIVERED'])[g % 4 + 1],
            timestamptz '2026-01-01' + (g / 3) * interval '1 second',
            case when g % 4 = 1 then timestamptz '2026-01-02' + g * interval '1 millisecond' end
       from generate_series(0, $3::int - 1) c, generate_series(1, $4::int) g`,
    [plan.id, prefix, count, perCustomer],
  );
  await s.sql(
    `insert into delivery (id, order_id, status) select gen_random_uuid(), id, 'NEW' from "order" where customer_id like $1 and status = 'PAID'`,
    [`${prefix}%`],
  );
  return ids;
}

test('pages asked for together are answered exactly as one at a time: rows, order, cursors, hasNextPage', async () => {
  const customers = await seed(`batch-${Date.now()}-`, 4, 30);
  const tokens = await Promise.all(customers.map((c) => token(c)));
  const asks: Array<{ tok: string; vars: Record<string, unknown> }> = [];
  for (const tok of tokens) {
    for (const first of [1, 7, 30, 100]) {
      asks.push({ tok, vars: { first } });
      asks.push({ tok, vars: { first, status: 'PAID' } });
    }
  }
  // Second pages: from the cursor of a first page, with and without a status.
  for (const tok of tokens) {
    for (const status of [undefined, 'PAID']) {
      const first = await s.gql(PAGE, { first: 4, status }, tok);
      asks.push({ tok, vars: { first: 5, status, after: first.data.myOrders.pageInfo.endCursor } });
    }
  }

  const alone = [];
  for (const a of asks) alone.push(await s.gql(PAGE, a.vars, a.tok));
  expect(alone.every((r) => r.errors === undefined && r.data.myOrders.edges.length > 0)).toBe(true);
  expect(alone.some((r) => r.data.myOrders.pageInfo.hasNextPage)).toBe(true);
  expect(alone.some((r) => !r.data.myOrders.pageInfo.hasNextPage)).toBe(true);
  expect(alone.some((r) => r.data.myOrders.edges.some((e: any) => e.node.delivery !== null))).toBe(true);

  const together = await Promise.all(asks.map((a) => s.gql(PAGE, a.vars, a.tok)));
  expect(together).toEqual(alone);
});

test('the asks of one event-loop turn are read by one statement per shape; an ask that fails fails alone', async () => {
  const [a, b] = await seed(`turn-${Date.now()}-`, 2, 12);
  const em = s.app.orm.em.fork();
  // Counted at node-postgres, below every library: each page statement sent is one query there.
  const sent = watchSent((text) => text.includes('ask_customer'));
  const statements = sent.texts;
  try {
    // As the API answers them (the rows also carry the number of their ask in the statement).
    const read = async (ask: Partial<CustomerPageAsk> & { customerId: string }) => pageOfRows(await readCustomerPage(em, { status: null, after: null, limit: 5, selection: WHOLE_ROWS, ...ask }), 100);
    const alone = [await read({ customerId: a }), await read({ customerId: b, limit: 13 }), await read({ customerId: a, status: OrderStatus.PAID })];
    const cursor = decodeOrderCursor((await s.gql(PAGE, { first: 2 }, await token(b))).data.myOrders.pageInfo.endCursor);
    const afterCursor = await read({ customerId: b, after: cursor });
    statements.length = 0;

    const together = await Promise.all([
      read({ customerId: a }),
      read({ customerId: b, limit: 13 }),
      read({ customerId: a, status: OrderStatus.PAID }),
      read({ customerId: b, after: cursor }),
      read({ customerId: a }),
    ]);
    expect(together).toEqual([...alone, afterCursor, alone[0]]);
    expect(alone[1].edges).toHaveLength(12);
    // Three shapes asked for: three statements for five pages.
    expect(statements).toHaveLength(3);

    // A customer id PostgreSQL refuses (a NUL byte) fails its own page; the page read with it still answers.
    statements.length = 0;
    const [bad, good] = await Promise.allSettled([read({ customerId: 'x\u0000y' }), read({ customerId: a })]);
    expect(bad.status).toBe('rejected');
    expect(good).toEqual({ status: 'fulfilled', value: alone[0] });

    // Ids travel inside array literals: quotes, backslashes, commas, braces, spaces and NULL stay themselves.
    const odd = [`q"u\\o,t{e}-${Date.now()}`, ` NULL `];
    await s.sql(`insert into customer (id, role) select unnest($1::text[]), 'customer'`, [odd]);
    const planId = (await s.sql(`select plan_id from "order" where customer_id = $1 limit 1`, [a]))[0].plan_id;
    await s.sql(
      `insert into "order" (id, number, customer_id, plan_id, currency, subtotal, discount, tax, total, status)
       select gen_random_uuid(), 'ODD-' || n || '-' || $3, c, $2, 'USD', 100, 0, 0, 100, 'PENDING' from unnest($1::text[]) with ordinality as x(c, n)`,
      [odd, planId, Date.now()],
    );
    const oddPages = await Promise.all([read({ customerId: odd[0] }), read({ customerId: odd[1] }), read({ customerId: a })]);
    expect(oddPages.map((p) => p.edges.map((e) => e.node.customerId))).toEqual([[odd[0]], [odd[1]], alone[0].edges.map(() => a)]);
  } finally {
    sent.stop();
  }
});

test('each ask of a page statement walks the customer index backwards, whatever the shape', async () => {
  const plan = await createPlan(s);
  await s.sql(`insert into customer (id, role) select 'bulk-' || g, 'customer' from generate_series(1, 200) g on conflict do nothing`);
  await s.sql(
    `insert into "order" (id, number, customer_id, plan_id, currency, subtotal, discount, tax, total, status, created_at)
     select gen_random_uuid(), 'PB-' || g, 'bulk-' || (g % 200 + 1), $1, 'USD', 1000, 0, 150, 1150,
            (array['PENDING','PAID','CANCELLED'])[g % 3 + 1], now() - g * interval '1 second'
       from generate_series(1, 20000) g`,
    [plan.id],
  );
  const client = new Client({ connectionString: s.databaseUrl });
  await client.connect();
  try {
    await client.query('analyze "order"');
    const explain = async (sql: string, params: unknown[]) => {
      let i = 0;
      const text = sql.replace(/\?/g, () => `$${++i}`);
      const { rows } = await client.query(`explain ${text}`, params);
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    };
    const customers = '{bulk-7,bulk-8,bulk-9}';
    const limits = '{21,21,101}';
    const now = String(Date.now() * 1000);
    const cursors = [`{${now},${now},${now}}`, '{00000000-0000-4000-8000-000000000000,00000000-0000-4000-8000-000000000000,00000000-0000-4000-8000-000000000000}'];
    const plain = await explain(customerPagesStatement({ status: false, after: false, selection: WHOLE_ROWS }), [customers, limits]);
    const after = await explain(customerPagesStatement({ status: false, after: true, selection: WHOLE_ROWS }), [customers, limits, ...cursors]);
    const byStatus = await explain(customerPagesStatement({ status: true, after: false, selection: WHOLE_ROWS }), [customers, limits, '{PAID,PAID,PENDING}']);
    const both = await explain(customerPagesStatement({ status: true, after: true, selection: WHOLE_ROWS }), [customers, limits, '{PAID,PAID,PENDING}', ...cursors]);
    // With a status too: the same walk, skipping the customer's orders in other statuses.
    for (const plan of [plain, after, byStatus, both]) expect(plan).toMatch(/Index Scan Backward using order_customer_created_idx on "order"/);
    for (const plan of [plain, after, byStatus, both]) expect(plan).not.toMatch(/Seq Scan on "order"/);
  } finally {
    await client.end();
  }
});
