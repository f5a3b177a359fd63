import { PENDING_JOBS } from '../support/jobs';
import { createOrder, createPlan, ok, payWithWallet, people } from '../support/live';
import { header, startMailbox, type Mailbox } from '../support/mailbox';
import { codeOf, startTestServer, type TestServer } from '../support/server';
import { until } from '../support/until';

let box: Mailbox;
let s: TestServer;
beforeAll(async () => {
  box = await startMailbox();
  s = await startTestServer({ SMTP_URL: box.url, MAIL_FROM: 'Shop <orders@shop.example>', MAIL_TO_TEMPLATE: '{customerId}@customers.shop.example' });
});
afterAll(async () => {
  await s.stop();
  await box.close();
});

test('a paid and delivered order sends its confirmation and its delivered mail, once each', async () => {
  const p = await people();
  const planId = await createPlan(s, p, { price: 2_500 });
  const orderId = await createOrder(s, p, planId);
  const { number } = ok(await s.gql(`query($id: ID!) { order(id: $id) { number } }`, { id: orderId }, p.customer)).order;
  ok(await payWithWallet(s, orderId, p.customer));
  const mine = () => box.mails.filter((m) => m.messageId.includes(orderId));
  await until('two mails', () => mine().length >= 2, 20_000);
  // Each mail is a job that ends once the server took the message: with none left for the order, every
  // mail it will ever send has arrived (a retried job would still be queued).
  await until('the order’s mail jobs to finish', async () => (await s.sql(`select 1 from ${PENDING_JOBS} where key like $1`, [`mail:${orderId}:%`])).length === 0);

  const got = mine().sort((a, b) => a.messageId.localeCompare(b.messageId));
  expect(got.map((m) => [m.messageId, m.subject, m.to])).toEqual([
    [`<order-${orderId}-delivered@shop.example>`, `Order ${number} delivered`, [`${p.ids.customer}@customers.shop.example`]],
    [`<order-${orderId}-paid@shop.example>`, `Order ${number} confirmed`, [`${p.ids.customer}@customers.shop.example`]],
  ]);
  expect(got.map((m) => header(m.raw, 'From'))).toEqual(['Shop <orders@shop.example>', 'Shop <orders@shop.example>']);
  // 2,500 plus 15% tax is 2,875 cents.
  expect(got[1].text).toContain(`We received your payment of $28.75 for`);
});

test('a payment that rolls back sends no mail', async () => {
  const p = await people();
  const planId = await createPlan(s, p, { price: 2_500 });
  ok(await s.gql(`{ me { id } }`, {}, p.other));
  const orderId = ok(await s.gql(`mutation($i: CreateOrderInput!) { createOrder(input: $i) { id } }`, { i: { planId } }, p.other)).createOrder.id;
  expect(codeOf(await payWithWallet(s, orderId, p.other))).toBe('INSUFFICIENT_BALANCE');
  // A later, successful payment of another order proves the mail job ran meanwhile.
  const paidId = await createOrder(s, p, planId);
  ok(await payWithWallet(s, paidId, p.customer));
  await until('the other mail', () => box.mails.some((m) => m.messageId.includes(paidId)), 20_000);
  const jobs = await s.sql(`select count(*)::int as n from ${PENDING_JOBS} where key like $1`, [`mail:${orderId}:%`]);
  expect(jobs[0].n).toBe(0);
  expect(box.mails.filter((m) => m.messageId.includes(orderId))).toEqual([]);
});

describe('a deployment in yen', () => {
  let jpy: TestServer;
  beforeAll(async () => {
    jpy = await startTestServer({ CURRENCY: 'JPY', SMTP_URL: box.url, MAIL_FROM: 'Shop <orders@shop.example>' });
  });
  afterAll(() => jpy.stop());

  test('the confirmation shows the total in yen, which have no minor digits', async () => {
    const p = await people();
    const planId = await createPlan(jpy, p, { price: 2_500 });
    const orderId = await createOrder(jpy, p, planId);
    const { total } = ok(await jpy.gql(`query($id: ID!) { order(id: $id) { total { amount currency } } }`, { id: orderId }, p.customer)).order;
    expect(total).toEqual({ amount: 2_875, currency: 'JPY' });
    ok(await payWithWallet(jpy, orderId, p.customer));
    const paid = await until('the confirmation mail', () => box.mails.find((m) => m.messageId === `<order-${orderId}-paid@shop.example>`), 20_000);
    expect(paid.text).toContain('We received your payment of ¥2,875 for');
  });
});
