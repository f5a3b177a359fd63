/**
 * Ids are UUIDs, which the API takes in either case (RFC 4122: case-insensitive on input). An audit
 * entry names its target by the row's own id, as the API shows it, however the argument spelt it, so
 * `auditLog(targetId: "<order id>")` finds every change of the order.
 */
import { randomUUID } from 'node:crypto';
import { adminToken } from '../support/backoffice';
import { startTestServer, token, type TestServer } from '../support/server';

let s: TestServer;
let admin: string;
beforeAll(async () => {
  // No job runner: a paid order stays undelivered, so it can be refunded.
  s = await startTestServer({ RUN_WORKER: 'false' });
  admin = await adminToken();
});
afterAll(() => s?.stop());

const actionsOn = async (targetId: string): Promise<string[]> =>
  (await s.gql(`query($t: String) { auditLog(targetId: $t) { edges { node { action targetId } } } }`, { t: targetId }, admin)).data.auditLog.edges.map(
    (e: any) => `${e.node.action}:${e.node.targetId}`,
  );

test('setCouponEnabled with the coupon id in upper case is found by auditLog(targetId: coupon.id)', async () => {
  const coupon = (await s.gql(`mutation($c: String!) { createCoupon(input: { code: $c, kind: FIXED, value: 5 }) { id } }`, { c: `AUD-${randomUUID().slice(0, 8)}` }, admin)).data.createCoupon;
  const r = await s.gql(`mutation($id: ID!) { setCouponEnabled(id: $id, enabled: false) { id enabled } }`, { id: coupon.id.toUpperCase() }, admin);
  expect(r.errors).toBeUndefined();
  expect(r.data.setCouponEnabled).toEqual({ id: coupon.id, enabled: false });
  expect(await actionsOn(coupon.id)).toEqual([`setCouponEnabled:${coupon.id}`, `createCoupon:${coupon.id}`]);
});

test("an admin's cancelOrder with the order id in upper case is found by auditLog(targetId: order.id)", async () => {
  const plan = (await s.gql(`mutation { createPlan(input: { name: "Audited", price: 700 }) { id } }`, {}, admin)).data.createPlan.id;
  const order = (await s.gql(`mutation($p: ID!) { createOrder(input: { planId: $p }) { id } }`, { p: plan }, await token(`cust-${randomUUID()}`))).data.createOrder;
  const r = await s.gql(`mutation($id: ID!) { cancelOrder(orderId: $id) { id status cancelReason } }`, { id: order.id.toUpperCase() }, admin);
  expect(r.errors).toBeUndefined();
  expect(r.data.cancelOrder).toEqual({ id: order.id, status: 'CANCELLED', cancelReason: 'ADMIN' });
  expect(await actionsOn(order.id)).toEqual([`cancelOrder:${order.id}`]);
});

test('refundOrder with the order id in upper case is found by auditLog(targetId: order.id)', async () => {
  const sub = `cust-${randomUUID()}`;
  const customer = await token(sub);
  const plan = (await s.gql(`mutation { createPlan(input: { name: "Refunded", price: 900 }) { id } }`, {}, admin)).data.createPlan.id;
  const order = (await s.gql(`mutation($p: ID!) { createOrder(input: { planId: $p }) { id } }`, { p: plan }, customer)).data.createOrder;
  await s.gql(`mutation($c: ID!, $r: String!) { creditWallet(customerId: $c, amount: 5000, reference: $r) { balance { amount } } }`, { c: sub, r: `ref-${sub}` }, admin);
  expect((await s.gql(`mutation($id: ID!) { payWithWallet(orderId: $id) { status } }`, { id: order.id }, customer)).data.payWithWallet.status).toBe('PAID');
  const r = await s.gql(`mutation($id: ID!) { refundOrder(orderId: $id) { id status } }`, { id: order.id.toUpperCase() }, admin);
  expect(r.errors).toBeUndefined();
  expect(r.data.refundOrder).toEqual({ id: order.id, status: 'REFUNDED' });
  expect(await actionsOn(order.id)).toEqual([`refundOrder:${order.id}`]);
});
