import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { createOrder, createPlan, ok, payWithWallet, people } from '../support/live';
import { record, until } from '../support/records';
import { startTestServer, type TestServer } from '../support/server';

/** The receipt goes out with the confirmation mail; every refund sends a refund mail. Through a real SMTP server. */
jest.setTimeout(120_000);

interface Captured {
  messageId: string;
  subject: string;
  text: string;
}
const mails: Captured[] = [];
const header = (raw: string, name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(raw)?.[1]?.trim() ?? '';

/** The text/plain body a person reads, transfer encoding undone. */
function textOf(raw: string): string {
  const split = (entity: string) => {
    const at = entity.indexOf('\r\n\r\n');
    return { head: entity.slice(0, at), body: entity.slice(at + 4) };
  };
  let { head, body } = split(raw);
  const boundary = /boundary="?([^";\r\n]+)"?/i.exec(head)?.[1];
  if (boundary) ({ head, body } = body.split(`--${boundary}`).map(split).find((p) => /content-type:\s*text\/plain/i.test(p.head))!);
  const encoding = header(head, 'Content-Transfer-Encoding').toLowerCase();
  if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') {
    const bytes = body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return body;
}

let smtp: SMTPServer;
let s: TestServer;
beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, done) {
      let raw = '';
      stream.on('data', (c: Buffer) => (raw += c.toString('utf8')));
      stream.on('end', () => {
        mails.push({ messageId: header(raw, 'Message-ID'), subject: header(raw, 'Subject'), text: textOf(raw) });
        done();
      });
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
  s = await startTestServer({ SMTP_URL: `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`, MUTATION_RATE_LIMIT: '100000' });
});
afterAll(async () => {
  await s?.stop();
  await new Promise<void>((r) => smtp.close(r));
});

const mailOf = (orderId: string, kind: string) => until(`the ${kind} mail of ${orderId}`, async () => mails.find((m) => m.messageId === `<order-${orderId}-${kind}@commerce.invalid>`));

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
  await until('no mail job left', async () => Number((await s.sql(`select count(*) from graphile_worker.jobs where task_identifier = 'send_mail'`))[0].count) === 0);
  expect(mails.filter((m) => m.messageId.includes(`${orderId}-refunded`))).toHaveLength(1);
});
