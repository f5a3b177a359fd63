import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { createOrder, createPlan, ok, payWithWallet, people } from '../support/live';
import { codeOf, startTestServer, type TestServer } from '../support/server';
import { until } from '../support/until';

interface Captured {
  to: string[];
  messageId: string;
  subject: string;
  body: string;
}

const mails: Captured[] = [];
const header = (raw: string, name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(raw)?.[1]?.trim() ?? '';

/** The text a person reads in a raw mail: its (first) text/plain part, transfer encoding undone. */
function textOf(raw: string): string {
  const split = (entity: string) => {
    const at = entity.indexOf('\r\n\r\n');
    return { head: entity.slice(0, at), body: entity.slice(at + 4) };
  };
  let { head, body } = split(raw);
  const boundary = /boundary="?([^";\r\n]+)"?/i.exec(head)?.[1];
  if (boundary) {
    const part = body.split(`--${boundary}`).map(split).find((p) => /content-type:\s*text\/plain/i.test(p.head));
    if (!part) throw new Error('no text/plain part in the mail');
    ({ head, body } = part);
  }
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
    onData(stream, session, done) {
      let raw = '';
      stream.on('data', (c: Buffer) => (raw += c.toString('utf8')));
      stream.on('end', () => {
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address), messageId: header(raw, 'Message-ID'), subject: header(raw, 'Subject'), body: raw });
        done();
      });
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
  const port = (smtp.server.address() as AddressInfo).port;
  s = await startTestServer({ SMTP_URL: `smtp://127.0.0.1:${port}`, MAIL_FROM: 'Shop <orders@shop.example>', MAIL_TO_TEMPLATE: '{customerId}@customers.shop.example' });
});
afterAll(async () => {
  await s.stop();
  await new Promise<void>((r) => smtp.close(r));
});

test('a paid and delivered order sends its confirmation and its delivered mail, once each', async () => {
  const p = await people();
  const planId = await createPlan(s, p, { price: 2_500 });
  const orderId = await createOrder(s, p, planId);
  const { number } = ok(await s.gql(`query($id: ID!) { order(id: $id) { number } }`, { id: orderId }, p.customer)).order;
  ok(await payWithWallet(s, orderId, p.customer));
  const mine = () => mails.filter((m) => m.messageId.includes(orderId));
  await until('two mails', () => mine().length >= 2, 20_000);
  // Each mail is a job that ends once the server took the message: with none left for the order, every
  // mail it will ever send has arrived (a retried job would still be queued).
  await until('the order’s mail jobs to finish', async () => (await s.sql(`select 1 from graphile_worker.jobs where key like $1`, [`mail:${orderId}:%`])).length === 0);

  const got = mine().sort((a, b) => a.messageId.localeCompare(b.messageId));
  expect(got.map((m) => [m.messageId, m.subject, m.to])).toEqual([
    [`<order-${orderId}-delivered@shop.example>`, `Order ${number} delivered`, [`${p.ids.customer}@customers.shop.example`]],
    [`<order-${orderId}-paid@shop.example>`, `Order ${number} confirmed`, [`${p.ids.customer}@customers.shop.example`]],
  ]);
  expect(got.map((m) => header(m.body, 'From'))).toEqual(['Shop <orders@shop.example>', 'Shop <orders@shop.example>']);
  // 2,500 plus 15% tax is 2,875 cents.
  expect(textOf(got[1].body)).toContain(`We received your payment of $28.75 for`);
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
  await until('the other mail', () => mails.some((m) => m.messageId.includes(paidId)), 20_000);
  const jobs = await s.sql(`select count(*)::int as n from graphile_worker.jobs where key like $1`, [`mail:${orderId}:%`]);
  expect(jobs[0].n).toBe(0);
  expect(mails.filter((m) => m.messageId.includes(orderId))).toEqual([]);
});

describe('a deployment in yen', () => {
  let jpy: TestServer;
  beforeAll(async () => {
    const port = (smtp.server.address() as AddressInfo).port;
    jpy = await startTestServer({ CURRENCY: 'JPY', SMTP_URL: `smtp://127.0.0.1:${port}`, MAIL_FROM: 'Shop <orders@shop.example>' });
  });
  afterAll(() => jpy.stop());

  test('the confirmation shows the total in yen, which have no minor digits', async () => {
    const p = await people();
    const planId = await createPlan(jpy, p, { price: 2_500 });
    const orderId = await createOrder(jpy, p, planId);
    const { total } = ok(await jpy.gql(`query($id: ID!) { order(id: $id) { total { amount currency } } }`, { id: orderId }, p.customer)).order;
    expect(total).toEqual({ amount: 2_875, currency: 'JPY' });
    ok(await payWithWallet(jpy, orderId, p.customer));
    const paid = await until('the confirmation mail', () => mails.find((m) => m.messageId === `<order-${orderId}-paid@shop.example>`), 20_000);
    expect(textOf(paid.body)).toContain('We received your payment of ¥2,875 for');
  });
});
