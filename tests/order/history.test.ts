import { createOrder, createPlan, ok, payWithWallet, people, setDeliveryStatus } from '../support/live';
import { contiguous, record, until } from '../support/records';
import { codeOf, startTestServer, type TestServer } from '../support/server';

/**
 * `Order.history`: one entry per committed change, versions 1..n without gaps, each with the status and
 * delivery status after it and who made it, on every path that changes an order or its delivery.
 */
jest.setTimeout(120_000);

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ MUTATION_RATE_LIMIT: '100000' });
});
afterAll(async () => {
  await s?.stop();
});

test('created, paid from the wallet, delivered by the worker: versions 1..4 with the customer, then system:delivery', async () => {
  const p = await people();
  const planId = await createPlan(s, p, { price: 1_000 });
  const orderId = await createOrder(s, p, planId);
  ok(await payWithWallet(s, orderId, p.customer));
  const done = await until('the automatic delivery to complete', async () => {
    const o = await record(s, orderId, p.customer);
    return o.status === 'DELIVERED' ? o : null;
  });
  expect(contiguous(done)).toEqual([
    [1, 'PENDING', null, p.ids.customer],
    [2, 'PAID', 'NEW', p.ids.customer],
    [3, 'PAID', 'IN_PROGRESS', 'system:delivery'],
    [4, 'DELIVERED', 'COMPLETED', 'system:delivery'],
  ]);
  const at = done.history.map((e) => Date.parse(e.at));
  expect([...at].sort((a, b) => a - b)).toEqual(at);
});

test('a provider moves the delivery, an admin cancels another one (a refund): each move is one entry with its actor', async () => {
  const p = await people();
  const planId = await createPlan(s, p, { price: 1_000, withProvider: true });
  const a = await createOrder(s, p, planId);
  ok(await payWithWallet(s, a, p.customer));
  for (const status of ['IN_PROGRESS', 'REVIEWING', 'COMPLETED']) ok(await setDeliveryStatus(s, a, status, p.provider));
  expect(contiguous(await record(s, a, p.admin))).toEqual([
    [1, 'PENDING', null, p.ids.customer],
    [2, 'PAID', 'NEW', p.ids.customer],
    [3, 'PAID', 'IN_PROGRESS', p.ids.provider],
    [4, 'PAID', 'REVIEWING', p.ids.provider],
    [5, 'DELIVERED', 'COMPLETED', p.ids.provider],
  ]);

  const b = await createOrder(s, p, planId);
  ok(await payWithWallet(s, b, p.customer));
  ok(await setDeliveryStatus(s, b, 'CANCELLED', p.admin));
  // The cancellation and its refund are one change.
  expect(contiguous(await record(s, b, p.customer))).toEqual([
    [1, 'PENDING', null, p.ids.customer],
    [2, 'PAID', 'NEW', p.ids.customer],
    [3, 'REFUNDED', 'CANCELLED', p.ids.admin],
  ]);
});

test('cancelled by the customer, by an admin; refunded by an admin', async () => {
  const p = await people();
  const planId = await createPlan(s, p, { price: 1_000, withProvider: true });
  const byCustomer = await createOrder(s, p, planId);
  ok(await s.gql(`mutation($id: ID!) { cancelOrder(orderId: $id) { id } }`, { id: byCustomer }, p.customer));
  expect(contiguous(await record(s, byCustomer, p.customer))).toEqual([
    [1, 'PENDING', null, p.ids.customer],
    [2, 'CANCELLED', null, p.ids.customer],
  ]);

  const byAdmin = await createOrder(s, p, planId);
  ok(await s.gql(`mutation($id: ID!) { cancelOrder(orderId: $id) { id } }`, { id: byAdmin }, p.admin));
  expect(contiguous(await record(s, byAdmin, p.customer))).toEqual([
    [1, 'PENDING', null, p.ids.customer],
    [2, 'CANCELLED', null, p.ids.admin],
  ]);

  const refunded = await createOrder(s, p, planId);
  ok(await payWithWallet(s, refunded, p.customer));
  ok(await s.gql(`mutation($id: ID!) { refundOrder(orderId: $id) { id } }`, { id: refunded }, p.admin));
  expect(contiguous(await record(s, refunded, p.customer))).toEqual([
    [1, 'PENDING', null, p.ids.customer],
    [2, 'PAID', 'NEW', p.ids.customer],
    [3, 'REFUNDED', 'CANCELLED', p.ids.admin],
  ]);
});

test('a refused change adds nothing: a second cancel, a payment of a cancelled order', async () => {
  const p = await people();
  const planId = await createPlan(s, p, { price: 1_000 });
  const orderId = await createOrder(s, p, planId);
  ok(await s.gql(`mutation($id: ID!) { cancelOrder(orderId: $id) { id } }`, { id: orderId }, p.customer));
  expect(codeOf(await s.gql(`mutation($id: ID!) { cancelOrder(orderId: $id) { id } }`, { id: orderId }, p.customer))).toBe('ORDER_NOT_CANCELLABLE');
  expect(codeOf(await payWithWallet(s, orderId, p.customer))).toBe('ORDER_NOT_PAYABLE');
  const o = await record(s, orderId, p.customer);
  expect(o.version).toBe(2);
  expect(contiguous(o)).toHaveLength(2);
});

test('the payment timeout cancels as system:timeout', async () => {
  const f = await startTestServer({ ORDER_PAYMENT_TIMEOUT_SECONDS: '1' });
  try {
    const p = await people();
    const planId = await createPlan(f, p, { price: 1_000 });
    const orderId = await createOrder(f, p, planId);
    const o = await until('the timeout to cancel the order', async () => {
      const r = await record(f, orderId, p.customer);
      return r.status === 'CANCELLED' ? r : null;
    });
    expect(contiguous(o)).toEqual([
      [1, 'PENDING', null, p.ids.customer],
      [2, 'CANCELLED', null, 'system:timeout'],
    ]);
  } finally {
    await f.stop();
  }
});

test('the database keeps the history honest: a change that names no actor is refused, entries are never changed or deleted', async () => {
  const p = await people();
  const planId = await createPlan(s, p, { price: 1_000 });
  const orderId = await createOrder(s, p, planId);
  await expect(s.sql(`update "order" set version = version + 1 where id = $1`, [orderId])).rejects.toThrow(/without naming who changed it/);
  await expect(s.sql(`update order_event set actor = 'someone-else' where order_id = $1`, [orderId])).rejects.toThrow(/never changed or deleted/);
  await expect(s.sql(`delete from order_event where order_id = $1`, [orderId])).rejects.toThrow(/never changed or deleted/);
  // A change with its actor is recorded, and the actor does not stick to the next one.
  await s.sql(`update "order" set version = version + 1, actor = 'system:test' where id = $1`, [orderId]);
  await expect(s.sql(`update "order" set version = version + 1 where id = $1`, [orderId])).rejects.toThrow(/without naming who changed it/);
  expect((await record(s, orderId, p.customer)).history.map((e) => e.actor)).toEqual([p.ids.customer, 'system:test']);
});

test('many orders racing through payment and cancellation each keep versions 1..n', async () => {
  const p = await people();
  const planId = await createPlan(s, p, { price: 100 });
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push(await createOrder(s, p, planId));
  // Pay and cancel each at once: exactly one wins, and the history has exactly its entry.
  await Promise.all(ids.flatMap((id) => [payWithWallet(s, id, p.customer), s.gql(`mutation($id: ID!) { cancelOrder(orderId: $id) { id } }`, { id }, p.customer)]));
  for (const id of ids) {
    const o = await record(s, id, p.customer);
    const steps = contiguous(o);
    expect(steps[1][1]).toMatch(/^(PAID|CANCELLED)$/);
  }
});
