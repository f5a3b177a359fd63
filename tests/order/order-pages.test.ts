import { randomUUID } from 'node:crypto';
import { adminToken, createCoupon, createOrder, createPlan, newCustomer } from '../support/orders';
import { startTestServer, token, type TestServer } from '../support/server';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.stop());

/** Every field of an order that comes from its row, its plan, its upgrades and its delivery. */
const ORDER = `id number status couponCode createdAt expiresAt paidAt paymentMethod deliveredAt cancelledAt cancelReason version
  subtotal { amount currency } discount { amount currency } tax { amount currency } total { amount currency }
  plan { id name description durationDays saleStatus stockRemaining price { amount } upgrades { id name price { amount } } }
  upgrades { id name price { amount } }
  delivery { id status attempts updatedAt completedAt }`;

function ok(r: { data?: any; errors?: unknown }): any {
  if (r.errors) throw new Error(`GraphQL errors: ${JSON.stringify(r.errors)}`);
  return r.data;
}

test('myOrders and the admin order list show each order exactly as order(id) does', async () => {
  const admin = await adminToken();
  const providerId = `prov-${randomUUID()}`;
  const provider = await token(providerId, 'provider');
  ok(await s.gql(`{ me { id } }`, {}, provider));
  const plan = await createPlan(s, { price: 2500, stock: 10, durationDays: 30, providerId, upgrades: [{ name: 'Extra', price: 300 }] });
  const coupon = await createCoupon(s, { kind: 'PERCENT', value: 10, maxUses: 10 });
  const customer = newCustomer();
  const tok = await token(customer);

  // One order of each shape: unpaid with an upgrade and a coupon, cancelled, paid and delivered.
  const pending = ok(await createOrder(s, tok, { planId: plan.id, upgradeIds: [plan.upgrades[0].id], couponCode: coupon.code })).createOrder.id;
  const cancelled = ok(await createOrder(s, tok, { planId: plan.id })).createOrder.id;
  ok(await s.gql(`mutation($id: ID!) { cancelOrder(orderId: $id) { id } }`, { id: cancelled }, tok));
  const delivered = ok(await createOrder(s, tok, { planId: plan.id })).createOrder.id;
  ok(await s.gql(`mutation($c: ID!, $r: String!) { creditWallet(customerId: $c, amount: 100000, reference: $r) { balance { amount } } }`, { c: customer, r: `ref-${randomUUID()}` }, admin));
  ok(await s.gql(`mutation($id: ID!) { payWithWallet(orderId: $id) { id } }`, { id: delivered }, tok));
  for (const status of ['IN_PROGRESS', 'REVIEWING', 'COMPLETED']) {
    ok(await s.gql(`mutation($id: ID!, $s: DeliveryStatus!) { setDeliveryStatus(orderId: $id, status: $s) { id } }`, { id: delivered, s: status }, provider));
  }

  const one = async (id: string) => ok(await s.gql(`query($id: ID!) { order(id: $id) { ${ORDER} } }`, { id }, tok)).order;
  const expected = [await one(delivered), await one(cancelled), await one(pending)];
  expect(expected.map((o) => o.status)).toEqual(['DELIVERED', 'CANCELLED', 'PENDING']);
  expect(expected[0].delivery).toMatchObject({ status: 'COMPLETED', completedAt: expect.any(String) });
  expect(expected[2]).toMatchObject({ couponCode: coupon.code, upgrades: [{ id: plan.upgrades[0].id, name: 'Extra', price: { amount: 300 } }] });

  const mine = ok(await s.gql(`{ myOrders(first: 10) { edges { node { ${ORDER} } } } }`, {}, tok)).myOrders.edges.map((e: any) => e.node);
  expect(mine).toEqual(expected);

  const listed = ok(await s.gql(`query($c: ID) { orders(filter: { customerId: $c }, first: 10) { edges { node { ${ORDER} } } } }`, { c: customer }, admin)).orders.edges.map(
    (e: any) => e.node,
  );
  expect(listed).toEqual(expected);
});

test("an order's plan is the plan as it is now: a rename, a sale of its stock and hiding it show at once", async () => {
  const admin = await adminToken();
  const plan = await createPlan(s, { price: 1000, stock: 5 });
  const tok = await token(newCustomer());
  ok(await createOrder(s, tok, { planId: plan.id }));
  const planOfMine = async () => ok(await s.gql(`{ myOrders(first: 1) { edges { node { plan { id name saleStatus stockRemaining } } } } }`, {}, tok)).myOrders.edges[0].node.plan;
  expect(await planOfMine()).toEqual({ id: plan.id, name: plan.name, saleStatus: 'ON_SALE', stockRemaining: 4 });
  // Read again: the same answer, now from this instance's copy of the plan.
  expect(await planOfMine()).toEqual({ id: plan.id, name: plan.name, saleStatus: 'ON_SALE', stockRemaining: 4 });

  ok(await s.gql(`mutation($id: ID!) { updatePlan(id: $id, input: { name: "Renamed" }) { id } }`, { id: plan.id }, admin));
  expect(await planOfMine()).toMatchObject({ name: 'Renamed', stockRemaining: 4 });

  ok(await createOrder(s, await token(newCustomer()), { planId: plan.id }));
  expect(await planOfMine()).toMatchObject({ name: 'Renamed', stockRemaining: 3 });

  ok(await s.gql(`mutation($id: ID!) { updatePlan(id: $id, input: { saleStatus: HIDDEN }) { id } }`, { id: plan.id }, admin));
  expect(await planOfMine()).toEqual({ id: plan.id, name: 'Renamed', saleStatus: 'HIDDEN', stockRemaining: 3 });
});

test('a page asked for some fields (through aliases and fragments) shows them as a page asked for all does', async () => {
  const admin = await adminToken();
  const plan = await createPlan(s, { price: 1800, upgrades: [{ name: 'Extra', price: 200 }] });
  const coupon = await createCoupon(s, { kind: 'PERCENT', value: 10 });
  const customer = newCustomer();
  const tok = await token(customer);
  ok(await createOrder(s, tok, { planId: plan.id, upgradeIds: [plan.upgrades[0].id], couponCode: coupon.code }));
  const paid = ok(await createOrder(s, tok, { planId: plan.id })).createOrder.id;
  ok(await s.gql(`mutation($c: ID!, $r: String!) { creditWallet(customerId: $c, amount: 100000, reference: $r) { balance { amount } } }`, { c: customer, r: `ref-${randomUUID()}` }, admin));
  ok(await s.gql(`mutation($id: ID!) { payWithWallet(orderId: $id) { id } }`, { id: paid }, tok));
  // Its delivery runs on its own (a job): compared once it has settled.
  for (let tries = 0; ok(await s.gql(`query($id: ID!) { order(id: $id) { status } }`, { id: paid }, tok)).order.status !== 'DELIVERED'; tries++) {
    if (tries > 100) throw new Error('the paid order was not delivered');
    await new Promise((r) => setTimeout(r, 100));
  }

  const fields = ['id', 'number', 'status', 'couponCode', 'createdAt', 'expiresAt', 'paidAt', 'paymentMethod', 'version', 'total { amount currency }', 'plan { id name }', 'upgrades { id name }', 'delivery { id status }', 'history { version }', 'payment { method }', 'receipt { number }'];
  const all = ok(await s.gql(`{ myOrders(first: 10) { edges { cursor node { ${fields.join(' ')} } } } }`, {}, tok)).myOrders.edges;
  for (const [i, field] of fields.entries()) {
    const name = field.split(' ')[0];
    // Alternately through a named fragment with an alias, and an inline fragment.
    const query =
      i % 2 === 0
        ? `query { mine: myOrders(first: 10) { edges { cursor node { ...F } } } } fragment F on Order { shown: ${field} }`
        : `query { mine: myOrders(first: 10) { edges { cursor node { ... on Order { shown: ${field} } } } } }`;
    const page = ok(await s.gql(query, {}, tok)).mine.edges;
    expect({ name, page }).toEqual({ name, page: all.map((e: any) => ({ cursor: e.cursor, node: { shown: e.node[name] } })) });
  }
});
