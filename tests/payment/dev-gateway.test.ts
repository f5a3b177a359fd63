import { loadConfig } from '../../src/config';
import { expectLedgerSound } from '../support/ledger-invariants';
import { PAY_GATEWAY, cancelOrder, createOrder, createProviderPlan, newCustomer, orderRow, type TestCustomer, type TestOrder } from '../support/payments-fixtures';
import { startTestServer, type TestServer } from '../support/server';
import { checkoutEvent, postWebhook } from '../support/stripe-stub';
import { until } from '../support/until';

/** Without Stripe keys (outside production) the API serves its own checkout pages. */
const PUBLIC_URL = 'http://shop.test';
let s: TestServer;
let planId: string;

beforeAll(async () => {
  s = await startTestServer({ STRIPE_SECRET_KEY: undefined, STRIPE_WEBHOOK_SECRET: undefined, STRIPE_API_URL: undefined, PUBLIC_URL });
  planId = (await createProviderPlan(s, 2000)).planId;
});
afterAll(async () => {
  await expectLedgerSound(s.sql);
  await s.stop();
});

/** A pending order and the local checkout URL payWithGateway gave for it (rebased onto the test server). */
async function devCheckout(): Promise<{ c: TestCustomer; order: TestOrder; checkoutUrl: string; local: string }> {
  const c = await newCustomer(s);
  const order = await createOrder(s, c, planId);
  const r = await s.gql(PAY_GATEWAY, { orderId: order.id }, c.token);
  expect(r.errors).toBeUndefined();
  const checkoutUrl: string = r.data!.payWithGateway.checkoutUrl;
  return { c, order, checkoutUrl, local: `${s.url}${new URL(checkoutUrl).pathname}` };
}

/** Submits one of the page's forms the way a browser does. */
const submit = (url: string) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'result=1', redirect: 'manual' });

test('payWithGateway answers a local checkout page under PUBLIC_URL, and a retry the same page', async () => {
  const { c, order, checkoutUrl, local } = await devCheckout();
  expect(checkoutUrl).toMatch(new RegExp(`^${PUBLIC_URL}/dev-gateway/checkout/cs_dev_[0-9a-f]+$`));
  const again = await s.gql(PAY_GATEWAY, { orderId: order.id }, c.token);
  expect(again.data!.payWithGateway.checkoutUrl).toBe(checkoutUrl);

  const page = await fetch(local);
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  const html = await page.text();
  const [{ number }] = await s.sql(`select number from "order" where id = $1`, [order.id]);
  expect(html).toContain(number);
  expect(html).toContain('$23.00');
  expect(html).toMatch(/<form method="post" action="\/dev-gateway\/checkout\/cs_dev_[0-9a-f]+\/pay"/);
  expect(html).toMatch(/<form method="post" action="\/dev-gateway\/checkout\/cs_dev_[0-9a-f]+\/fail"/);
});

test('the Pay form marks the order PAID by GATEWAY through the webhook path; paying again changes nothing', async () => {
  const { order, local } = await devCheckout();
  const res = await submit(`${local}/pay`);
  expect(res.status).toBe(303);
  expect(res.headers.get('location')).toBe(`${PUBLIC_URL}/checkout/success?order=${order.id}`);
  const [row] = await s.sql(
    `select o.status, o.version, o.payment_method, d.status as delivery, p.method, g.outcome, e.type as event
       from "order" o join delivery d on d.order_id = o.id join payment p on p.order_id = o.id
       join gateway_charge g on g.order_id = o.id join gateway_event e on e.id = 'evt_dev_' || g.session_id
      where o.id = $1`,
    [order.id],
  );
  expect(row).toEqual({
    status: 'PAID',
    version: order.version + 1,
    payment_method: 'GATEWAY',
    delivery: 'NEW',
    method: 'GATEWAY',
    outcome: 'APPLIED',
    event: 'checkout.session.completed',
  });
  const [{ actor }] = await s.sql(`select distinct actor from ledger_entry where order_id = $1`, [order.id]);
  expect(actor).toBe('system:dev-gateway');

  expect((await submit(`${local}/pay`)).status).toBe(303);
  expect(await s.sql(`select 1 from payment where order_id = $1`, [order.id])).toHaveLength(1);
  expect(await orderRow(s, order.id)).toMatchObject({ status: 'PAID', version: order.version + 1 });
  // The page now shows the session as completed, without buttons.
  expect(await (await fetch(local)).text()).not.toContain('/pay"');
});

test('the Fail form leaves the order PENDING', async () => {
  const { order, local } = await devCheckout();
  const res = await submit(`${local}/fail`);
  expect(res.status).toBe(303);
  expect(res.headers.get('location')).toBe(`${PUBLIC_URL}/checkout/cancel?order=${order.id}`);
  expect(await orderRow(s, order.id)).toMatchObject({ status: 'PENDING', version: order.version });
  expect(await s.sql(`select 1 from payment where order_id = $1`, [order.id])).toHaveLength(0);
});

test('a cancelled order’s checkout is expired: its page shows it and Pay takes nothing', async () => {
  const { c, order, local } = await devCheckout();
  expect(await cancelOrder(s, c, order.id)).toBeUndefined();
  await until('the session to be expired', async () => (await s.sql(`select status from checkout_session where order_id = $1`, [order.id]))[0]?.status === 'EXPIRED');
  const html = await (await fetch(local)).text();
  expect(html).toContain('This checkout is expired.');
  expect(html).not.toContain('/pay"');
  const res = await submit(`${local}/pay`);
  expect(res.status).toBe(410);
  expect(await s.sql(`select 1 from gateway_charge where order_id = $1`, [order.id])).toHaveLength(0);
  expect(await orderRow(s, order.id)).toMatchObject({ status: 'CANCELLED' });
});

test('unknown checkout pages are 404; the Stripe webhook refuses events when no webhook secret is configured', async () => {
  expect((await fetch(`${s.url}/dev-gateway/checkout/cs_dev_nope`)).status).toBe(404);
  expect((await submit(`${s.url}/dev-gateway/checkout/cs_dev_nope/pay`)).status).toBe(404);
  const { order } = await devCheckout();
  const res = await postWebhook(s.url, checkoutEvent({ id: 'cs_x', amount_total: 2300, currency: 'usd', orderId: order.id }));
  expect(res.status).toBe(400);
  expect(await orderRow(s, order.id)).toMatchObject({ status: 'PENDING' });
});

test('production refuses to start without Stripe keys, so the development gateway never runs there', () => {
  expect(() => loadConfig({ NODE_ENV: 'production', DATABASE_URL: 'postgres://x@127.0.0.1/x', JWT_SECRET: 'a-production-secret-0123456789' })).toThrow(
    /STRIPE_SECRET_KEY/,
  );
});
