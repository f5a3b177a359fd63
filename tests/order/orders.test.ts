import { encodeCursor } from '../../src/shared/cursor';
import { CancelOrderDocument, MyOrdersDocument, OrderDocument } from '../__generated__/graphql';
import { PENDING_JOBS } from '../support/jobs';
import { adminToken, counters, createCoupon, createOrder, createPlan, newCustomer, rowCounts } from '../support/orders';
import { codeOf, startTestServer, token, type TestServer } from '../support/server';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.stop());

const UNKNOWN = '00000000-0000-4000-8000-000000000000';
/** A cursor at `micros` (any text, to forge bad ones) before the unknown order, made by the one codec. */
const at = (micros: string, id = UNKNOWN) => encodeCursor({ micros, id });

/** Asserts a request failed with `code` and changed no row, and that the server still answers. */
async function refusedWithoutChange(run: () => Promise<any>, code: string) {
  const before = await rowCounts(s);
  const r = await run();
  expect(codeOf(r)).toBe(code);
  expect(await rowCounts(s)).toEqual(before);
  expect((await s.gql(`{ me { id } }`, {}, await token(newCustomer()))).data?.me.id).toBeTruthy();
  return r;
}

describe('createOrder', () => {
  test('creates a PENDING order: number, locked amounts, expiry, version 1, a timeout job, held counters', async () => {
    const plan = await createPlan(s, { price: 1000, stock: 5, upgrades: [{ name: 'Extra', price: 200 }] });
    const coupon = await createCoupon(s, { kind: 'PERCENT', value: 10, maxUses: 10 });
    const customer = newCustomer();
    const r = await createOrder(s, await token(customer), { planId: plan.id, upgradeIds: [plan.upgrades[0].id], couponCode: coupon.code.toLowerCase() });
    expect(r.errors).toBeUndefined();
    const o = r.data!.createOrder;
    expect(o).toMatchObject({
      status: 'PENDING',
      plan: { id: plan.id },
      upgrades: [{ id: plan.upgrades[0].id }],
      couponCode: coupon.code,
      subtotal: { amount: 1200, currency: 'USD' },
      discount: { amount: 120 },
      tax: { amount: 162 },
      total: { amount: 1242, currency: 'USD' },
      cancelledAt: null,
      cancelReason: null,
      version: 1,
    });
    expect(o.number).toMatch(/^ORD-\d{6,}$/);
    const ttl = Date.parse(o.expiresAt!) - Date.parse(o.createdAt);
    expect(ttl).toBeGreaterThanOrEqual(900_000 - 1000);
    expect(ttl).toBeLessThanOrEqual(900_000 + 1000);
    const [job] = await s.sql(`select task as task_identifier, run_at from ${PENDING_JOBS} where key = $1`, [`order_timeout:${o.id}`]);
    expect(job.task_identifier).toBe('order_timeout');
    expect(new Date(job.run_at).toISOString()).toBe(new Date(o.expiresAt!).toISOString());
    // The coupon has no per-customer limit, so no rule reads its customers' uses: none are counted.
    expect(await counters(s, { planId: plan.id, couponId: coupon.id, customerId: customer })).toEqual({ stockUsed: 1, couponUsed: 1, unpaid: 1, customerUses: 0 });
  });

  test('order numbers come from the sequence, one apart', async () => {
    const plan = await createPlan(s);
    const tok = await token(newCustomer());
    const a = (await createOrder(s, tok, { planId: plan.id })).data!.createOrder.number;
    const b = (await createOrder(s, tok, { planId: plan.id })).data!.createOrder.number;
    expect(Number(b.slice(4))).toBeGreaterThan(Number(a.slice(4)));
  });

  test('UNAUTHENTICATED without a token', async () => {
    const plan = await createPlan(s);
    await refusedWithoutChange(() => createOrder(s, null as never, { planId: plan.id }), 'UNAUTHENTICATED');
  });

  test('NOT_FOUND for unknown, non-UUID, hidden and other-group plans', async () => {
    const tok = await token(newCustomer());
    const hidden = await createPlan(s, { saleStatus: 'HIDDEN' });
    const vip = await createPlan(s, { groups: ['vip'] });
    for (const planId of [UNKNOWN, 'not-a-uuid', 'x'.repeat(10_000), hidden.id, vip.id]) {
      await refusedWithoutChange(() => createOrder(s, tok, { planId }), 'NOT_FOUND');
    }
  });

  test('PLAN_NOT_AVAILABLE when the caller sees the plan but it is not on sale to their group', async () => {
    const hidden = await createPlan(s, { saleStatus: 'HIDDEN' });
    const admin = await adminToken();
    await refusedWithoutChange(() => createOrder(s, admin, { planId: hidden.id }), 'PLAN_NOT_AVAILABLE');
    const providerId = newCustomer();
    const provider = await token(providerId, 'provider');
    await s.gql(`{ me { id } }`, {}, provider);
    const own = await createPlan(s, { providerId, groups: ['partners'] });
    await refusedWithoutChange(() => createOrder(s, provider, { planId: own.id }), 'PLAN_NOT_AVAILABLE');
  });

  test('BAD_USER_INPUT for upgrades that repeat, belong elsewhere or do not exist, and for bad keys and codes', async () => {
    const plan = await createPlan(s, { upgrades: [{ name: 'A', price: 100 }] });
    const other = await createPlan(s, { upgrades: [{ name: 'B', price: 100 }] });
    const tok = await token(newCustomer());
    const u = plan.upgrades[0].id;
    const inputs = [
      { planId: plan.id, upgradeIds: [u, u] },
      { planId: plan.id, upgradeIds: [other.upgrades[0].id] },
      { planId: plan.id, upgradeIds: [UNKNOWN] },
      { planId: plan.id, upgradeIds: ['not-a-uuid'] },
      { planId: plan.id, upgradeIds: Array.from({ length: 51 }, () => UNKNOWN) },
      { planId: plan.id, idempotencyKey: '' },
      { planId: plan.id, idempotencyKey: 'k'.repeat(201) },
      { planId: plan.id, couponCode: 'C'.repeat(10_240) },
      { planId: plan.id, couponCode: 'C'.repeat(65) },
      { planId: plan.id, couponCode: '   ' },
    ];
    for (const input of inputs) await refusedWithoutChange(() => createOrder(s, tok, input), 'BAD_USER_INPUT');
  });

  test('OUT_OF_STOCK once the stock is taken, and for a plan with stock 0', async () => {
    const plan = await createPlan(s, { stock: 1 });
    expect((await createOrder(s, await token(newCustomer()), { planId: plan.id })).errors).toBeUndefined();
    await refusedWithoutChange(() => createOrder(s, tok2, { planId: plan.id }), 'OUT_OF_STOCK');
    const none = await createPlan(s, { stock: 0 });
    await refusedWithoutChange(() => createOrder(s, tok2, { planId: none.id }), 'OUT_OF_STOCK');
  });
  let tok2: string;
  beforeAll(async () => {
    tok2 = await token(newCustomer());
  });

  test('UNPAID_ORDER_LIMIT at MAX_UNPAID_ORDERS (3); cancelling one frees a slot', async () => {
    const plan = await createPlan(s);
    const tok = await token(newCustomer());
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await createOrder(s, tok, { planId: plan.id })).data!.createOrder.id);
    const r = await refusedWithoutChange(() => createOrder(s, tok, { planId: plan.id }), 'UNPAID_ORDER_LIMIT');
    expect(r.errors[0].extensions.limit).toBe(3);
    expect((await s.gql(CancelOrderDocument, { orderId: ids[0] }, tok)).errors).toBeUndefined();
    expect((await createOrder(s, tok, { planId: plan.id })).errors).toBeUndefined();
  });

  test('the same idempotencyKey from the same customer returns the first order; another customer gets its own', async () => {
    const plan = await createPlan(s, { stock: 10 });
    const tok = await token(newCustomer());
    const first = (await createOrder(s, tok, { planId: plan.id, idempotencyKey: 'checkout-1' })).data!.createOrder;
    const again = (await createOrder(s, tok, { planId: plan.id, idempotencyKey: 'checkout-1' })).data!.createOrder;
    expect(again).toEqual(first);
    const other = (await createOrder(s, await token(newCustomer()), { planId: plan.id, idempotencyKey: 'checkout-1' })).data!.createOrder;
    expect(other.id).not.toBe(first.id);
    expect((await counters(s, { planId: plan.id })).stockUsed).toBe(2);
  });
});

describe('cancelOrder', () => {
  test('the customer cancels a PENDING order: everything it held comes back, version 2, expiry cleared', async () => {
    const plan = await createPlan(s, { stock: 2 });
    const coupon = await createCoupon(s, { maxUses: 5, maxUsesPerUser: 1 });
    const customer = newCustomer();
    const tok = await token(customer);
    const o = (await createOrder(s, tok, { planId: plan.id, couponCode: coupon.code })).data!.createOrder;
    const ids = { planId: plan.id, couponId: coupon.id, customerId: customer };
    expect(await counters(s, ids)).toEqual({ stockUsed: 1, couponUsed: 1, unpaid: 1, customerUses: 1 });
    const r = await s.gql(CancelOrderDocument, { orderId: o.id }, tok);
    expect(r.errors).toBeUndefined();
    const c = r.data!.cancelOrder;
    expect(c).toMatchObject({ id: o.id, status: 'CANCELLED', cancelReason: 'CUSTOMER', expiresAt: null, version: 2, total: o.total });
    expect(c.cancelledAt).toBeTruthy();
    expect(await counters(s, ids)).toEqual({ stockUsed: 0, couponUsed: 0, unpaid: 0, customerUses: 0 });
    // The use came back: the same customer may use the coupon again.
    expect((await createOrder(s, tok, { planId: plan.id, couponCode: coupon.code })).errors).toBeUndefined();
    expect((await s.gql(`query($id: ID!) { coupon(id: $id) { usedCount } }`, { id: coupon.id }, await adminToken())).data!.coupon.usedCount).toBe(1);
  });

  test('ORDER_NOT_CANCELLABLE for a cancelled or paid order; nothing is given back twice', async () => {
    const plan = await createPlan(s, { stock: 3 });
    const customer = newCustomer();
    const tok = await token(customer);
    const a = (await createOrder(s, tok, { planId: plan.id })).data!.createOrder;
    const b = (await createOrder(s, tok, { planId: plan.id })).data!.createOrder;
    await s.gql(CancelOrderDocument, { orderId: a.id }, tok);
    await refusedWithoutChange(() => s.gql(CancelOrderDocument, { orderId: a.id }, tok), 'ORDER_NOT_CANCELLABLE');
    await s.sql(`update "order" set status = 'PAID', paid_at = now(), expires_at = null, version = version + 1, actor = 'system:test' where id = $1`, [b.id]);
    await refusedWithoutChange(() => s.gql(CancelOrderDocument, { orderId: b.id }, tok), 'ORDER_NOT_CANCELLABLE');
    expect(await counters(s, { planId: plan.id, customerId: customer })).toMatchObject({ stockUsed: 1, unpaid: 1 });
  });

  test('an admin cancels any order (reason ADMIN)', async () => {
    const plan = await createPlan(s);
    const o = (await createOrder(s, await token(newCustomer()), { planId: plan.id })).data!.createOrder;
    const r = await s.gql(CancelOrderDocument, { orderId: o.id }, await adminToken());
    expect(r.data!.cancelOrder).toMatchObject({ status: 'CANCELLED', cancelReason: 'ADMIN', version: 2 });
  });

  test('NOT_FOUND for unknown and non-UUID ids', async () => {
    const tok = await token(newCustomer());
    for (const orderId of [UNKNOWN, 'nope', '1 or 1=1']) await refusedWithoutChange(() => s.gql(CancelOrderDocument, { orderId }, tok), 'NOT_FOUND');
  });
});

describe('ownership', () => {
  test('another customer can read, cancel or list none of an order: FORBIDDEN, where a missing order is NOT_FOUND', async () => {
    const plan = await createPlan(s);
    const owner = await token(newCustomer());
    const stranger = await token(newCustomer());
    const o = (await createOrder(s, owner, { planId: plan.id })).data!.createOrder;

    const read = await s.gql(OrderDocument, { id: o.id }, stranger);
    const missing = await s.gql(OrderDocument, { id: UNKNOWN }, stranger);
    expect(codeOf(read)).toBe('FORBIDDEN');
    expect(codeOf(missing)).toBe('NOT_FOUND');
    expect(read.data).toEqual({ order: null });
    expect(JSON.stringify(read)).not.toContain(o.number);

    await refusedWithoutChange(() => s.gql(CancelOrderDocument, { orderId: o.id }, stranger), 'FORBIDDEN');
    await refusedWithoutChange(() => s.gql(CancelOrderDocument, { orderId: UNKNOWN }, stranger), 'NOT_FOUND');
    expect((await s.gql(MyOrdersDocument, {}, stranger)).data!.myOrders.edges).toEqual([]);

    expect((await s.gql(OrderDocument, { id: o.id }, owner)).data!.order).toMatchObject({ id: o.id, status: 'PENDING', version: 1 });
    expect((await s.gql(OrderDocument, { id: o.id }, await adminToken())).data!.order).toMatchObject({ id: o.id });
    expect(codeOf(await s.gql(OrderDocument, { id: 'not-a-uuid' }, owner))).toBe('NOT_FOUND');
    expect(codeOf(await s.gql(OrderDocument, { id: o.id }, null))).toBe('UNAUTHENTICATED');
  });
});

describe('myOrders', () => {
  /** Inserts `n` PENDING orders for a customer straight into the table, one millisecond apart (keyset tests). */
  async function seedOrders(customerId: string, n: number, status = 'PENDING', sameInstant = false) {
    const plan = await createPlan(s);
    await s.sql(`insert into customer (id, role) values ($1, 'customer') on conflict do nothing`, [customerId]);
    await s.sql(
      `insert into "order" (id, number, customer_id, plan_id, currency, subtotal, discount, tax, total, status, created_at)
       select gen_random_uuid(), 'S-' || substr(md5(random()::text || g), 1, 24), $1, $2, 'USD', 1000, 0, 150, 1150, $3,
              now() - (case when $5 then 0 else ($4 - g) end) * interval '1 millisecond'
         from generate_series(1, $4) g`,
      [customerId, plan.id, status, n, sameInstant],
    );
  }

  const ids = (r: any) => r.data!.myOrders.edges.map((e: any) => e.node.id);

  test('newest first, 20 by default, keyset pages without gaps or repeats, stable while orders are added', async () => {
    const customerId = newCustomer();
    const tok = await token(customerId);
    await seedOrders(customerId, 25);
    const all = await s.sql<{ id: string }>(`select id from "order" where customer_id = $1 order by created_at desc, id desc`, [customerId]);

    const def = await s.gql(MyOrdersDocument, {}, tok);
    expect(ids(def)).toEqual(all.slice(0, 20).map((r) => r.id));
    expect(def.data!.myOrders.pageInfo.hasNextPage).toBe(true);

    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const page: any = await s.gql(MyOrdersDocument, { first: 7, after }, tok);
      expect(page.errors).toBeUndefined();
      seen.push(...ids(page));
      pages++;
      if (pages === 1) {
        // A new order arrives between pages: it is newer than the cursor, so later pages neither repeat nor skip.
        const plan = await createPlan(s);
        expect((await createOrder(s, await token(customerId), { planId: plan.id })).errors).toBeUndefined();
      }
      if (!page.data.myOrders.pageInfo.hasNextPage) break;
      after = page.data.myOrders.pageInfo.endCursor;
    }
    expect(pages).toBe(4);
    expect(seen).toEqual(all.map((r) => r.id));
  });

  test('orders created at the same instant are still paged exactly once (ties broken by id)', async () => {
    const customerId = newCustomer();
    const tok = await token(customerId);
    await seedOrders(customerId, 9, 'PENDING', true);
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = await s.gql(MyOrdersDocument, { first: 4, after }, tok);
      seen.push(...ids(page));
      if (!page.data.myOrders.pageInfo.hasNextPage) break;
      after = page.data.myOrders.pageInfo.endCursor;
    }
    expect(new Set(seen).size).toBe(9);
  });

  test('status filters the list', async () => {
    const customerId = newCustomer();
    const tok = await token(customerId);
    const plan = await createPlan(s);
    const a = (await createOrder(s, tok, { planId: plan.id })).data!.createOrder;
    const b = (await createOrder(s, tok, { planId: plan.id })).data!.createOrder;
    await s.gql(CancelOrderDocument, { orderId: a.id }, tok);
    expect(ids(await s.gql(MyOrdersDocument, { status: 'CANCELLED' }, tok))).toEqual([a.id]);
    expect(ids(await s.gql(MyOrdersDocument, { status: 'PENDING' }, tok))).toEqual([b.id]);
    expect(ids(await s.gql(MyOrdersDocument, { status: 'PAID' }, tok))).toEqual([]);
  });

  test('first outside 1..100 and malformed cursors are BAD_USER_INPUT; nothing changes, the server keeps serving', async () => {
    const tok = await token(newCustomer());
    for (const first of [0, -1, 101, 1000, 2_147_483_647]) await refusedWithoutChange(() => s.gql(MyOrdersDocument, { first }, tok), 'BAD_USER_INPUT');
    await refusedWithoutChange(() => s.gql(`{ myOrders(first: 99999999999) { edges { cursor } } }`, {}, tok), 'GRAPHQL_VALIDATION_FAILED');
    const cursors = ['garbage!', at('abc'), at('123', 'not-a-uuid'), at('-1'), at('99999999999999999999'), 'A'.repeat(10_000), ''];
    for (const after of cursors) await refusedWithoutChange(() => s.gql(MyOrdersDocument, { after }, tok), 'BAD_USER_INPUT');
    expect((await s.gql(MyOrdersDocument, { first: 100 }, tok)).errors).toBeUndefined();
  });

  test('a cursor whose number overflows bigint (19 nines) or a timestamp is BAD_USER_INPUT on `after`, not an internal error', async () => {
    const tok = await token(newCustomer());
    expect((await createOrder(s, tok, { planId: (await createPlan(s)).id })).errors).toBeUndefined();
    for (const after of [at('9999999999999999999'), at('9223372036854775807'), at('253402300800000000')]) {
      const r = await refusedWithoutChange(() => s.gql(MyOrdersDocument, { after }, tok), 'BAD_USER_INPUT');
      expect(r.errors[0].extensions.field).toBe('after');
    }
    // The last microsecond of year 9999 is the largest position a cursor names: everything is before it.
    expect((await s.gql(MyOrdersDocument, { after: at('253402300799999999') }, tok)).data!.myOrders.edges).toHaveLength(1);
  });
});
