import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { codeOf, startTestServer, type TestServer } from '../support/server';
import { createOrder, createPlan, ok, payWithWallet, people, until } from './live-helpers';

interface Captured {
  to: string[];
  messageId: string;
  subject: string;
  body: string;
}

const mails: Captured[] = [];
const header = (raw: string, name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(raw)?.[1]?.trim() ?? '';

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
  await until(() => mine().length >= 2, 20_000, 'two mails');
  await new Promise((r) => setTimeout(r, 1_500));

  const got = mine().sort((a, b) => a.messageId.localeCompare(b.messageId));
  expect(got.map((m) => [m.messageId, m.subject, m.to])).toEqual([
    [`<order-${orderId}-delivered@shop.example>`, `Order ${number} delivered`, [`${p.ids.customer}@customers.shop.example`]],
    [`<order-${orderId}-paid@shop.example>`, `Order ${number} confirmed`, [`${p.ids.customer}@customers.shop.example`]],
  ]);
  expect(got.map((m) => header(m.body, 'From'))).toEqual(['Shop <orders@shop.example>', 'Shop <orders@shop.example>']);
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
  await until(() => mails.some((m) => m.messageId.includes(paidId)), 20_000, 'the other mail');
  const jobs = await s.sql(`select count(*)::int as n from graphile_worker.jobs where key like $1`, [`mail:${orderId}:%`]);
  expect(jobs[0].n).toBe(0);
  expect(mails.filter((m) => m.messageId.includes(orderId))).toEqual([]);
});
