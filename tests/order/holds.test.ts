import { Client } from 'pg';
import { unitOfWork } from '../../src/shared/unit-of-work';
import { CancelOrderDocument, OrderDocument, UpdatePlanDocument } from '../__generated__/graphql';
import { adminToken, counters, createCoupon, createOrder, createPlan, expectError, newCustomer } from '../support/orders';
import { codeOf, startTestServer, token, type TestServer } from '../support/server';
import { until } from '../support/until';

/**
 * An order gives back exactly what it took, once (CONTRACT.md, Lifecycle): an order made while its plan
 * had no stock took no unit, so cancelling it (or its timeout) gives none back, whatever the stock is
 * later; otherwise the plan is oversold.
 */

/** A plan without stock, an order of it (which takes no unit), then a stock of 1 set by an admin and taken by another order. */
async function orderBeforeStock(s: TestServer) {
  const plan = await createPlan(s);
  const customer = newCustomer();
  const tok = await token(customer);
  const early = (await createOrder(s, tok, { planId: plan.id })).data!.createOrder;
  const set = await s.gql(UpdatePlanDocument, { id: plan.id, input: { stock: 1 } }, await adminToken());
  expect(set.data!.updatePlan.stockRemaining).toBe(1);
  const holderId = newCustomer();
  const holderTok = await token(holderId);
  const holder = (await createOrder(s, holderTok, { planId: plan.id })).data!.createOrder;
  expect(holder.status).toBe('PENDING');
  expect((await counters(s, { planId: plan.id })).stockUsed).toBe(1);
  return { plan, customer, tok, early, holder, holderId, holderTok };
}

/** Pays an order from its customer's wallet (credited first): a paid order keeps its unit of stock. */
async function pay(s: TestServer, customerId: string, tok: string, orderId: string) {
  const credited = await s.gql(
    `mutation($c: ID!, $r: String!) { creditWallet(customerId: $c, amount: 100000, reference: $r) { balance { amount } } }`,
    { c: customerId, r: `pay-${orderId}` },
    await adminToken(),
  );
  expect(credited.errors).toBeUndefined();
  const paid = await s.gql(`mutation($id: ID!) { payWithWallet(orderId: $id) { status } }`, { id: orderId }, tok);
  expect(paid.data?.payWithWallet.status).toBe('PAID');
}

/** Stock 1 and one live order holding it: a third order is OUT_OF_STOCK and the plan shows none left. */
async function expectNotOversold(s: TestServer, planId: string) {
  expect((await counters(s, { planId })).stockUsed).toBe(1);
  const r = await s.gql(`query($id: ID!) { plan(id: $id) { stockRemaining } }`, { id: planId }, await adminToken());
  expect(r.data.plan.stockRemaining).toBe(0);
  expectError(await createOrder(s, await token(newCustomer()), { planId }), 'OUT_OF_STOCK');
  const [{ live }] = await s.sql(`select count(*)::int as live from "order" where plan_id = $1 and status in ('PENDING', 'PAID', 'DELIVERED')`, [planId]);
  expect(live).toBe(1);
}

describe('with the default timeout', () => {
  let s: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ DB_POOL_SIZE: '12' });
    b = await startTestServer({ DB_POOL_SIZE: '12' }, { databaseUrl: s.databaseUrl });
  });
  afterAll(() => Promise.all([s?.stop(), b?.stop()]));

  test('cancelling an order made before the plan had a stock gives no unit back: stock 1 is not oversold', async () => {
    const { plan, customer, tok, early } = await orderBeforeStock(s);
    const r = await s.gql(CancelOrderDocument, { orderId: early.id }, tok);
    expect(r.data!.cancelOrder.status).toBe('CANCELLED');
    // Its slot came back (it held one), the unit it never took did not.
    expect((await counters(s, { planId: plan.id, customerId: customer })).unpaid).toBe(0);
    await expectNotOversold(s, plan.id);
  });

  test('an admin cancel racing 10 timeout runs on two instances gives back only what the order took', async () => {
    const { plan, customer, early } = await orderBeforeStock(s);
    const admin = await adminToken();
    const runs = Array.from({ length: 20 }, (_, i) => {
      const inst = i % 2 ? b : s;
      if (i % 4 < 2) return inst.gql(CancelOrderDocument, { orderId: early.id }, admin).then((r) => codeOf(r) ?? 'ok');
      return Promise.resolve(inst.app.services.tasks.order_timeout!({ orderId: early.id }, {} as never)).then(() => 'timeout');
    });
    const outcomes = await Promise.all(runs);
    expect(outcomes.filter((o) => o !== 'timeout' && o !== 'ok' && o !== 'ORDER_NOT_CANCELLABLE')).toEqual([]);
    const [row] = await s.sql(`select status, version from "order" where id = $1`, [early.id]);
    expect(row).toEqual({ status: 'CANCELLED', version: 2 });
    expect((await counters(s, { planId: plan.id, customerId: customer })).unpaid).toBe(0);
    await expectNotOversold(s, plan.id);
  });

  test('an order records what it took, and a give-back after cancelling finds nothing left to give', async () => {
    const limited = await createPlan(s, { stock: 5 });
    const coupon = await createCoupon(s, { maxUses: 5, maxUsesPerUser: 5 });
    const customer = newCustomer();
    const tok = await token(customer);
    const o = (await createOrder(s, tok, { planId: limited.id, couponCode: coupon.code })).data!.createOrder;
    const held = `select holds_unpaid_slot as slot, holds_stock as stock, holds_coupon_use as coupon from "order" where id = $1`;
    expect((await s.sql(held, [o.id]))[0]).toEqual({ slot: true, stock: true, coupon: true });

    await s.gql(CancelOrderDocument, { orderId: o.id }, tok);
    expect((await s.sql(held, [o.id]))[0]).toEqual({ slot: false, stock: false, coupon: false });
    const ids = { planId: limited.id, couponId: coupon.id, customerId: customer };
    expect(await counters(s, ids)).toEqual({ stockUsed: 0, couponUsed: 0, unpaid: 0, customerUses: 0 });

    // Another order holds a unit and a use; a later path (e.g. a refund) asking to give back the
    // cancelled order's holdings gives nothing, so the other order's stay counted.
    expect((await createOrder(s, tok, { planId: limited.id, couponCode: coupon.code })).errors).toBeUndefined();
    const gave = await unitOfWork(s.app.orm.em.fork(), (tx, after) => s.app.services.orders.giveBackHeld(tx, after, o.id));
    expect(gave).toEqual({ unpaidSlot: false, stock: false, couponUse: false });
    expect(await counters(s, ids)).toEqual({ stockUsed: 1, couponUsed: 1, unpaid: 1, customerUses: 1 });
  });

  test("a cancel that waited while another order's give-back emptied the stripe it read still gives its own use back", async () => {
    // maxUses 2: two stripes, room for one use each.
    const plan = await createPlan(s);
    const coupon = await createCoupon(s, { maxUses: 2 });
    const stripes = async () => (await s.sql<{ stripe: number; used: number }>(`select stripe, used from coupon_use where coupon_id = $1 order by stripe`, [coupon.id])).map((r) => r.used);
    const first = newCustomer();
    const firstTok = await token(first);
    const waiting = (await createOrder(s, firstTok, { planId: plan.id, couponCode: coupon.code })).data!.createOrder;
    const counted = (await stripes()).indexOf(1);

    // The first customer's row is held (as by another order of theirs being placed): their cancel
    // reads the stripes (the use in stripe `counted`), changes the order, and waits for that row.
    const customerRow = new Client({ connectionString: s.databaseUrl });
    const stripeRow = new Client({ connectionString: s.databaseUrl });
    await Promise.all([customerRow.connect(), stripeRow.connect()]);
    try {
      await customerRow.query('begin');
      await customerRow.query('select from customer where id = $1 for update', [first]);
      const cancelling = s.gql(CancelOrderDocument, { orderId: waiting.id }, firstTok);
      await until('the cancel to wait for the customer row', async () => {
        const [{ n }] = await s.sql<{ n: number }>(`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`);
        return n === 1;
      });

      // Meanwhile a second customer's order takes the other stripe and is cancelled; with its own
      // stripe held, its give-back takes the use from stripe `counted`, the only other with one.
      const secondTok = await token(newCustomer());
      const other = (await createOrder(s, secondTok, { planId: plan.id, couponCode: coupon.code })).data!.createOrder;
      expect(await stripes()).toEqual([1, 1]);
      await stripeRow.query('begin');
      await stripeRow.query('select from coupon_use where coupon_id = $1 and stripe = $2 for update', [coupon.id, 1 - counted]);
      expect((await s.gql(CancelOrderDocument, { orderId: other.id }, secondTok)).data!.cancelOrder.status).toBe('CANCELLED');
      expect((await stripes())[counted]).toBe(0);
      await stripeRow.query('commit');

      // The first cancel goes on: the use it gives back is the one left, in the stripe it read empty.
      await customerRow.query('commit');
      expect((await cancelling).data!.cancelOrder.status).toBe('CANCELLED');
      expect(await stripes()).toEqual([0, 0]);
    } finally {
      await Promise.all([customerRow.end(), stripeRow.end()]);
    }
    // Both uses can be taken again, and no third.
    for (let i = 0; i < 2; i++) expect((await createOrder(s, await token(newCustomer()), { planId: plan.id, couponCode: coupon.code })).errors).toBeUndefined();
    expect(expectError(await createOrder(s, await token(newCustomer()), { planId: plan.id, couponCode: coupon.code }), 'COUPON_INVALID').rejection).toBe('USAGE_LIMIT_REACHED');
  });

  test('a paid order keeps its unit and coupon use but not its slot; they are given back once', async () => {
    const limited = await createPlan(s, { stock: 5 });
    const coupon = await createCoupon(s, { maxUses: 5, maxUsesPerUser: 5 });
    const customer = newCustomer();
    const tok = await token(customer);
    const o = (await createOrder(s, tok, { planId: limited.id, couponCode: coupon.code })).data!.createOrder;
    await pay(s, customer, tok, o.id);
    const ids = { planId: limited.id, couponId: coupon.id, customerId: customer };
    expect(await counters(s, ids)).toEqual({ stockUsed: 1, couponUsed: 1, unpaid: 0, customerUses: 1 });

    const giveBack = () => unitOfWork(s.app.orm.em.fork(), (tx, after) => s.app.services.orders.giveBackHeld(tx, after, o.id));
    expect(await Promise.all([giveBack(), giveBack()])).toEqual(
      expect.arrayContaining([
        { unpaidSlot: false, stock: true, couponUse: true },
        { unpaidSlot: false, stock: false, couponUse: false },
      ]),
    );
    expect(await counters(s, ids)).toEqual({ stockUsed: 0, couponUsed: 0, unpaid: 0, customerUses: 0 });
  });
});

test('the payment timeout of an order made before the plan had a stock gives no unit back', async () => {
  const s = await startTestServer({ ORDER_PAYMENT_TIMEOUT_SECONDS: '2' });
  try {
    const { plan, customer, tok, early, holder, holderId, holderTok } = await orderBeforeStock(s);
    // The holder is paid, so it keeps its unit past its own payment time.
    await pay(s, holderId, holderTok, holder.id);
    await until('the payment timeout to cancel the early order', async () => (await s.gql(OrderDocument, { id: early.id }, tok)).data?.order?.cancelReason === 'TIMEOUT', 15_000);
    expect((await counters(s, { customerId: customer })).unpaid).toBe(0);
    await expectNotOversold(s, plan.id);
  } finally {
    await s.stop();
  }
});

/**
 * Places an order of a new plan (price 1000) with `change` committed by an admin's connection between
 * the statement that reads the plan and the one that writes the order: the read's answer reaches the
 * server (in this process) only once the change is made. Returns the answer and the order as stored.
 */
async function placedAcrossChange(change: string) {
  const s = await startTestServer();
  const admin = new Client({ connectionString: s.databaseUrl });
  await admin.connect();
  let planToChange: string | null = null;
  // At node-postgres, below every library: each query() is one round trip on its connection.
  const proto = Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const query = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]): unknown {
    const answer = query.apply(this, args);
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string } | undefined)?.text;
    const planId = planToChange;
    if (planId === null || !(answer instanceof Promise) || !/ as purchase,[\s\S]* as customer_group/.test(text ?? '')) return answer;
    planToChange = null;
    return answer.then(async (rows: unknown) => {
      await admin.query(`update plan set ${change} where id = $1`, [planId]);
      return rows;
    });
  };
  try {
    const plan = await createPlan(s, { price: 1000 });
    planToChange = plan.id;
    const r = await createOrder(s, await token(newCustomer()), { planId: plan.id });
    expect(planToChange).toBeNull();
    const [row] = r.data ? await s.sql(`select holds_stock, subtotal, total from "order" where id = $1`, [r.data.createOrder.id]) : [];
    const [{ stock_used: stockUsed }] = await s.sql(`select stock_used from plan where id = $1`, [plan.id]);
    return { r, row, stockUsed };
  } finally {
    proto.query = query;
    await admin.end();
    await s.stop();
  }
}

describe('a plan changed between the read and the write of an order', () => {
  test('given a stock: the order takes a unit of it', async () => {
    const { row, stockUsed } = await placedAcrossChange('stock = 1');
    expect(row).toMatchObject({ holds_stock: true });
    expect(stockUsed).toBe(1);
  });

  test('repriced: the order is placed at the new price', async () => {
    const { row } = await placedAcrossChange('price = 2000');
    expect(row).toMatchObject({ subtotal: 2000, total: 2300 });
  });

  test('retired: NOT_FOUND (a customer sees it no more), nothing placed', async () => {
    const { r, row } = await placedAcrossChange(`sale_status = 'RETIRED'`);
    expect(codeOf(r)).toBe('NOT_FOUND');
    expect(row).toBeUndefined();
  });
});
