import { Topic } from '../../src/infra/pubsub';
import { createOrder, createPlan, ok, payWithWallet, people, setDeliveryStatus, subscribe, waitLocalListeners, wsClient } from '../support/live';
import { startTestServer, type TestServer } from '../support/server';
import { until } from '../support/until';

/**
 * A subscription's events carry what a query of the same version answers: its history up to that
 * change, and the payment, receipt and refund the change wrote (CONTRACT.md: `orderUpdated` sends the
 * order as it is now, then every later change; `Order.history` has one entry per committed change).
 * One context serves all of a subscription's events, so nothing its first event read may answer a later one.
 */
let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ RUN_WORKER: 'false' });
});
afterAll(() => s?.stop());

const FIELDS = `id status version payment { method amount { amount } } receipt { number } history { version status }`;

test('orderUpdated after payWithWallet: the PAID event carries the payment, the receipt and the history entry of the payment', async () => {
  const p = await people();
  const planId = await createPlan(s, p, { withProvider: true });
  const orderId = await createOrder(s, p, planId);
  const { client } = wsClient(s, p.customer);
  try {
    const sub = subscribe(client, `subscription($id: ID!) { orderUpdated(orderId: $id) { ${FIELDS} } }`, { id: orderId });
    await sub.count(1);
    ok(await payWithWallet(s, orderId, p.customer));
    const events = (await sub.count(2)) as any[];
    const paid = events[1];
    const query = ok(await s.gql(`query($id: ID!) { order(id: $id) { ${FIELDS} } }`, { id: orderId }, p.customer)).order;
    expect(query.status).toBe('PAID');
    expect(query.payment).not.toBeNull();
    expect(sub.errors).toEqual([]);
    // What the socket sent for the PAID version must be what a query answers for it.
    expect({ status: paid.status, version: paid.version }).toEqual({ status: 'PAID', version: 2 });
    expect({ history: paid.history, payment: paid.payment, receipt: paid.receipt }).toEqual({ history: query.history, payment: query.payment, receipt: query.receipt });
  } finally {
    await client.dispose();
  }
});

test('myOrdersUpdated: each event of an order carries the history up to its version (pay, then the provider starts the delivery)', async () => {
  const p = await people();
  const planId = await createPlan(s, p, { withProvider: true });
  const orderId = await createOrder(s, p, planId);
  const { client } = wsClient(s, p.customer);
  try {
    const sub = subscribe(client, `subscription { myOrdersUpdated { ${FIELDS} } }`, {}, 'myOrdersUpdated');
    await waitLocalListeners(s, Topic.CUSTOMER_ORDERS_UPDATED, p.ids.customer, 1);
    ok(await payWithWallet(s, orderId, p.customer));
    await until('the PAID event', () => sub.events.some((e) => e.id === orderId && e.version === 2));
    ok(await setDeliveryStatus(s, orderId, 'IN_PROGRESS', p.provider));
    const started = (await until('the version 3 event', () => sub.events.find((e) => e.id === orderId && e.version === 3))) as any;
    expect(sub.errors).toEqual([]);
    expect(started.history.map((e: { version: number }) => e.version)).toEqual([1, 2, 3]);
  } finally {
    await client.dispose();
  }
});

test('orderUpdated on a paid order, then an admin refunds it: the REFUNDED event carries the refund', async () => {
  const p = await people();
  const planId = await createPlan(s, p, { withProvider: true });
  const orderId = await createOrder(s, p, planId);
  ok(await payWithWallet(s, orderId, p.customer));
  const { client } = wsClient(s, p.customer);
  try {
    const sub = subscribe(client, `subscription($id: ID!) { orderUpdated(orderId: $id) { ${FIELDS} refund { status amount { amount } } } }`, { id: orderId });
    await sub.count(1);
    ok(await s.gql(`mutation($id: ID!) { refundOrder(orderId: $id) { id status } }`, { id: orderId }, p.admin));
    const refunded = (await until('the REFUNDED event', () => sub.events.find((e) => e.status === 'REFUNDED'))) as any;
    const query = ok(await s.gql(`query($id: ID!) { order(id: $id) { refund { status amount { amount } } } }`, { id: orderId }, p.customer)).order;
    expect(query.refund).not.toBeNull();
    expect(sub.errors).toEqual([]);
    expect(refunded.refund).toEqual(query.refund);
  } finally {
    await client.dispose();
  }
});
