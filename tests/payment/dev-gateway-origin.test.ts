import { createHash } from 'node:crypto';
import { PAY_GATEWAY, createOrder, createProviderPlan, newCustomer, orderRow } from '../support/payments-fixtures';
import { startTestServer, type TestServer } from '../support/server';

/**
 * The development gateway's Pay button pays only for whoever was given the checkout page: its session id
 * cannot be worked out from the order's id, and a form posted from another site is refused.
 */
const PUBLIC_URL = 'http://shop.test';
let s: TestServer;
let planId: string;

beforeAll(async () => {
  s = await startTestServer({ STRIPE_SECRET_KEY: undefined, STRIPE_WEBHOOK_SECRET: undefined, STRIPE_API_URL: undefined, PUBLIC_URL });
  planId = (await createProviderPlan(s, 2000)).planId;
});
afterAll(async () => {
  await s.stop();
});

/** A pending order and the path of its development checkout page. */
async function devCheckout() {
  const c = await newCustomer(s);
  const order = await createOrder(s, c, planId);
  const r = await s.gql(PAY_GATEWAY, { orderId: order.id }, c.token);
  expect(r.errors).toBeUndefined();
  return { order, path: new URL(r.data!.payWithGateway.checkoutUrl).pathname };
}

/** Posts the Pay form, as a browser on `origin` would (no Origin header when null). */
const pay = (path: string, origin: string | null) =>
  fetch(`${s.url}${path}/pay`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(origin ? { origin } : {}) },
    body: 'result=pay',
    redirect: 'manual',
  });

test('the checkout session id cannot be derived from the order id: the page and Pay of a derived id are 404 and the order stays PENDING', async () => {
  const { order, path } = await devCheckout();
  const derived = `cs_dev_${createHash('sha256').update(`checkout:${order.id}:v${order.version}`).digest('hex').slice(0, 24)}`;
  expect(path).not.toContain(derived);
  expect((await fetch(`${s.url}/dev-gateway/checkout/${derived}`)).status).toBe(404);
  expect((await pay(`/dev-gateway/checkout/${derived}`, null)).status).toBe(404);
  expect(await orderRow(s, order.id)).toMatchObject({ status: 'PENDING', version: order.version });
});

test('a Pay form posted from another site is refused with 403 and pays nothing; from the shop’s own origin it pays', async () => {
  const { order, path } = await devCheckout();
  for (const origin of ['http://evil.test', 'null', 'http://shop.test.evil.test']) {
    expect([origin, (await pay(path, origin)).status]).toEqual([origin, 403]);
  }
  expect(await orderRow(s, order.id)).toMatchObject({ status: 'PENDING', version: order.version });
  expect(await s.sql(`select 1 from gateway_charge where order_id = $1`, [order.id])).toHaveLength(0);

  const res = await pay(path, PUBLIC_URL);
  expect(res.status).toBe(303);
  expect(await orderRow(s, order.id)).toMatchObject({ status: 'PAID', version: order.version + 1 });
});

test('a Pay form posted from the page as served by this host (its own origin) pays', async () => {
  const { order, path } = await devCheckout();
  expect((await pay(path, new URL(s.url).origin)).status).toBe(303);
  expect(await orderRow(s, order.id)).toMatchObject({ status: 'PAID' });
});
