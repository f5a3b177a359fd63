import { randomUUID } from 'node:crypto';
import { PENDING_JOBS } from '../support/jobs';
import { createOrder, createPlan, ok, payWithWallet, people } from '../support/live';
import { startMailbox, type Mailbox } from '../support/mailbox';
import { record, until } from '../support/records';
import { startTestServer, type TestServer } from '../support/server';

/** The receipt goes out with the confirmation mail; every refund sends a refund mail. Through a real SMTP server. */
jest.setTimeout(120_000);

let box: Mailbox;
let s: TestServer;
beforeAll(async () => {
  box = await startMailbox();
  s = await startTestServer({ SMTP_URL: box.url, MUTATION_RATE_LIMIT: '100000' });
});
afterAll(async () => {
  await s?.stop();
  await box?.close();
});

const mailOf = (orderId: string, kind: string) => until(`the ${kind} mail of ${orderId}`, async () => box.mails.find((m) => m.messageId === `<order-${orderId}-${kind}@commerce.invalid>`));

test('the confirmation mail lists the receipt: its number, the lines as bought, the discount and the totals in words', async () => {
  const p = await people();
  const planId = await createPlan(s, p, { price: 2_000, withProvider: true });
  const code = `MAIL${randomUUID().slice(0, 6)}`.toUpperCase();
  ok(await s.gql(`mutation($input: CreateCouponInput!) { createCoupon(input: $input) { id } }`, { input: { code, kind: 'FIXED', value: 250 } }, p.admin));
  await createOrder(s, p, planId); // credits the wallet, makes the customer
  const orderId = ok(await s.gql(`mutation($input: CreateOrderInput!) { createOrder(input: $input) { id } }`, { input: { planId, couponCode: code } }, p.customer)).createOrder.id;
  ok(await payWithWallet(s, orderId, p.customer));
  const { receipt } = await record(s, orderId, p.customer);

  const mail = await mailOf(orderId, 'paid');
  expect(mail.subject).toMatch(/confirmed$/);
  // 2,000 − 250 = 1,750, tax 15% = 262.50 → 263 (half up), total 2,013.
  expect(mail.text).toContain(`Receipt ${receipt!.number}`);
  expect(mail.text).toMatch(/Plan \S+\s+\$20\.00/);
  expect(mail.text).toMatch(new RegExp(`Discount \\(${code}\\)\\s+-\\$2\\.50`));
  expect(mail.text).toMatch(/Subtotal\s+\$20\.00/);
  expect(mail.text).toMatch(/Tax\s+\$2\.63/);
  expect(mail.text).toMatch(/Total\s+\$20\.13/);
});

test('a refund sends a refund mail, once, naming the amount and where it goes', async () => {
  const p = await people();
  const planId = await createPlan(s, p, { price: 1_000, withProvider: true });
  const orderId = await createOrder(s, p, planId);
  ok(await payWithWallet(s, orderId, p.customer));
  ok(await s.gql(`mutation($id: ID!) { refundOrder(orderId: $id) { id } }`, { id: orderId }, p.admin));
  const mail = await mailOf(orderId, 'refunded');
  const { number } = await record(s, orderId, p.customer);
  expect(mail.subject).toBe(`Order ${number} refunded`);
  expect(mail.text).toContain('$11.50 goes back to your wallet');

  // An admin's cancellation of the delivery is a refund too.
  const other = await createOrder(s, p, planId);
  ok(await payWithWallet(s, other, p.customer));
  ok(await s.gql(`mutation($id: ID!) { setDeliveryStatus(orderId: $id, status: CANCELLED) { id } }`, { id: other }, p.admin));
  await mailOf(other, 'refunded');
  // Still one refund mail for the first order once the mail job has run.
  await until('no mail job left', async () => Number((await s.sql(`select count(*) from ${PENDING_JOBS} where task = 'send_mail'`))[0].count) === 0);
  expect(box.mails.filter((m) => m.messageId.includes(`${orderId}-refunded`))).toHaveLength(1);
});
