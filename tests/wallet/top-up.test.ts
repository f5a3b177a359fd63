import { randomUUID } from 'node:crypto';
import { AuditLogDocument, MyWalletDocument, TopUpWalletDocument } from '../__generated__/graphql';
import { expectLedgerSound } from '../support/ledger-invariants';
import { balanceOf, credit, newCustomer, type TestCustomer } from '../support/payments-fixtures';
import { codeOf, startTestServer, token, type GqlResult, type TestServer } from '../support/server';
import { STRIPE_TEST_KEYS, postWebhook, startStripeStub, type StripeStub } from '../support/stripe-stub';
import { until } from '../support/until';

const PUBLIC_URL = 'http://shop.test';
let stub: StripeStub;
let s: TestServer;
let admin: string;

beforeAll(async () => {
  stub = await startStripeStub();
  s = await startTestServer({ ...STRIPE_TEST_KEYS, STRIPE_API_URL: stub.url, PUBLIC_URL });
  admin = await token(`admin-${randomUUID()}`, 'admin');
});
afterAll(async () => {
  await expectLedgerSound((text, params) => s.sql(text, params));
  await s.stop();
  await stub.close();
});

function ok<T>(r: GqlResult<T>): T {
  if (r.errors || !r.data) throw new Error(`unexpected errors: ${JSON.stringify(r.errors ?? r)}`);
  return r.data;
}

/** A customer's top-up opened through `topUpWallet`, with its Checkout Session id and top-up row id. */
async function topUp(server: TestServer, amount: number, c?: TestCustomer) {
  const customer = c ?? (await newCustomer(server));
  const opened = ok(await server.gql(TopUpWalletDocument, { amount }, customer.token)).topUpWallet;
  const sessionId = opened.checkoutUrl.split('/').pop()!;
  const [row] = await server.sql<{ id: string; status: string }>(`select id, status from wallet_top_up where session_id = $1`, [sessionId]);
  return { customer, opened, sessionId, topUpId: row.id };
}

/** The customer's wallet as they read it: balance and the kinds and amounts of its transactions, newest first. */
async function walletOf(server: TestServer, c: TestCustomer) {
  const w = ok(await server.gql(MyWalletDocument, { first: 100 }, c.token)).wallet;
  return { balance: w.balance.amount, transactions: w.transactions.edges.map((e) => ({ kind: e.node.kind, amount: e.node.amount.amount })) };
}

/** The audit entries about a customer's wallet, oldest first. */
async function auditOf(server: TestServer, customerId: string, auth = admin) {
  const entries = ok(await server.gql(AuditLogDocument, { targetId: customerId, first: 100 }, auth)).auditLog.edges.map((e) => e.node);
  return entries.reverse().map((e) => ({ actor: e.actor, action: e.action, targetType: e.targetType, details: e.details ? JSON.parse(e.details) : null }));
}

const statusOf = async (server: TestServer, topUpId: string) => (await server.sql(`select status from wallet_top_up where id = $1`, [topUpId]))[0].status;
const refundRequestsFor = (paymentIntent: string) => stub.requestsTo('/v1/refunds').filter((r) => r.body.payment_intent === paymentIntent && r.outcome === 'ok');

describe('topUpWallet with Stripe', () => {
  test("opens a Checkout Session for the amount, for the caller's own wallet, and credits nothing yet", async () => {
    const before = stub.requestsTo('/v1/checkout/sessions').length;
    const { customer, opened, sessionId, topUpId } = await topUp(s, 2500);
    expect(opened).toEqual({ checkoutUrl: `https://checkout.stripe.test/c/pay/${sessionId}`, amount: { amount: 2500, currency: 'USD' } });
    const calls = stub.requestsTo('/v1/checkout/sessions').slice(before);
    expect(calls).toHaveLength(1);
    expect(calls[0].idempotencyKey).toBe(`topup:${topUpId}`);
    expect(calls[0].body).toMatchObject({
      mode: 'payment',
      'line_items[0][price_data][unit_amount]': '2500',
      'line_items[0][price_data][currency]': 'usd',
      'line_items[0][price_data][product_data][name]': 'Wallet top-up',
      'metadata[topUpId]': topUpId,
      'metadata[customerId]': customer.id,
      success_url: `${PUBLIC_URL}/checkout/success?topUp=${topUpId}`,
    });
    expect(calls[0].body['metadata[orderId]']).toBeUndefined();
    expect(await statusOf(s, topUpId)).toBe('OPEN');
    expect(await walletOf(s, customer)).toEqual({ balance: 0, transactions: [] });
  });

  test('the paid checkout.session.completed credits the wallet once, however often and in whatever events it arrives', async () => {
    const { customer, sessionId, topUpId } = await topUp(s, 3000);
    const event = stub.completeCheckout(sessionId) as { id: string; data: { object: { payment_intent: string } } };
    for (let i = 0; i < 3; i++) expect((await postWebhook(s.url, event)).status).toBe(200);
    // The same session in events of other ids, some at the same moment.
    const again = (id: string, type = 'checkout.session.completed') => postWebhook(s.url, { ...event, id, type });
    const answers = await Promise.all([again(`evt_a_${randomUUID()}`), again(`evt_b_${randomUUID()}`), again(`evt_c_${randomUUID()}`, 'checkout.session.async_payment_succeeded')]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);

    expect(await walletOf(s, customer)).toEqual({ balance: 3000, transactions: [{ kind: 'TOP_UP', amount: 3000 }] });
    expect(await statusOf(s, topUpId)).toBe('CREDITED');
    const lines = await s.sql(
      `select account, amount::int, kind from ledger_entry where journal_id = (select journal_id from wallet_top_up where id = $1) order by amount`,
      [topUpId],
    );
    expect(lines).toEqual([
      { account: 'GATEWAY_CLEARING', amount: -3000, kind: 'TOP_UP' },
      { account: 'WALLET', amount: 3000, kind: 'TOP_UP' },
    ]);
    expect(refundRequestsFor(event.data.object.payment_intent)).toEqual([]);
    expect(await auditOf(s, customer.id)).toEqual([
      { actor: 'system:gateway', action: 'topUpCredited', targetType: 'Wallet', details: expect.objectContaining({ topUpId, sessionId, amount: 3000 }) },
    ]);
  });

  test('an event with a bad or missing signature gets 400 and credits nothing', async () => {
    const { customer, sessionId } = await topUp(s, 1200);
    const event = stub.completeCheckout(sessionId);
    expect((await postWebhook(s.url, event, { secret: 'whsec_someone_else' })).status).toBe(400);
    expect((await postWebhook(s.url, event, { signature: null })).status).toBe(400);
    expect((await postWebhook(s.url, event, { signature: 't=1,v1=deadbeef' })).status).toBe(400);
    expect(await balanceOf(s, customer.id)).toBe(0);
    expect((await postWebhook(s.url, event)).status).toBe(200);
    expect(await balanceOf(s, customer.id)).toBe(1200);
  });

  test('an amount outside 1 to the most creditWallet takes is BAD_USER_INPUT and opens nothing', async () => {
    const c = await newCustomer(s);
    const before = stub.requestsTo('/v1/checkout/sessions').length;
    for (const amount of [0, -1, 100_000_001]) {
      const r = await s.gql(TopUpWalletDocument, { amount }, c.token);
      expect(codeOf(r)).toBe('BAD_USER_INPUT');
      expect(r.errors![0].extensions!.field).toBe('amount');
    }
    expect(stub.requestsTo('/v1/checkout/sessions').length).toBe(before);
    // Within our limits but not Stripe's: Stripe refuses it, and nothing is stored.
    for (const [amount, reason] of [[10, 'AMOUNT_TOO_SMALL'], [100_000_000, 'AMOUNT_TOO_LARGE']] as const) {
      const r = await s.gql(TopUpWalletDocument, { amount }, c.token);
      expect(codeOf(r)).toBe('BAD_USER_INPUT');
      expect(r.errors![0].extensions).toMatchObject({ field: 'amount', reason });
    }
    expect(await s.sql(`select id from wallet_top_up where customer_id = $1`, [c.id])).toEqual([]);
    expect(codeOf(await s.gql(TopUpWalletDocument, { amount: 100 }, null))).toBe('UNAUTHENTICATED');
  });

  test('a payment of another amount or currency is not a credit: it is refunded through Stripe and recorded', async () => {
    const { customer, sessionId, topUpId } = await topUp(s, 4000);
    const event = stub.completeCheckout(sessionId) as { id: string; data: { object: Record<string, unknown> & { payment_intent: string } } };
    const short = { ...event, data: { object: { ...event.data.object, amount_total: 3999 } } };
    expect((await postWebhook(s.url, short)).status).toBe(200);
    expect((await postWebhook(s.url, { ...short, id: `evt_${randomUUID()}` })).status).toBe(200);
    await until('the refund of the short payment', async () => refundRequestsFor(event.data.object.payment_intent).length === 1);
    expect(refundRequestsFor(event.data.object.payment_intent)[0].body.amount).toBe('3999');
    expect(await walletOf(s, customer)).toEqual({ balance: 0, transactions: [] });
    expect(await statusOf(s, topUpId)).toBe('REFUNDED');
    // The right amount arriving later for the same session is the same charge: nothing more.
    expect((await postWebhook(s.url, { ...event, id: `evt_${randomUUID()}` })).status).toBe(200);
    expect(await balanceOf(s, customer.id)).toBe(0);
    expect(await auditOf(s, customer.id)).toEqual([
      {
        actor: 'system:gateway',
        action: 'topUpMismatch',
        targetType: 'Wallet',
        details: expect.objectContaining({ topUpId, sessionId, paid: { amount: 3999, currency: 'USD' }, expected: { amount: 4000, currency: 'USD' } }),
      },
    ]);
  });

  test('a payment that would take the wallet past its most is refunded through Stripe and recorded; topUpWallet refuses one at once', async () => {
    const { customer, sessionId, topUpId } = await topUp(s, 5000);
    // Meanwhile admin credits fill the wallet to 3,647 below its most.
    for (let i = 0; i < 21; i++) await credit(s, customer.id, 100_000_000);
    await credit(s, customer.id, 47_480_000);
    const full = 2_147_480_000;
    expect(await balanceOf(s, customer.id)).toBe(full);

    const event = stub.completeCheckout(sessionId) as { data: { object: { payment_intent: string } } };
    expect((await postWebhook(s.url, event)).status).toBe(200);
    await until('the refund of the top-up the wallet could not take', async () => refundRequestsFor(event.data.object.payment_intent).length === 1);
    expect(await balanceOf(s, customer.id)).toBe(full);
    expect(await statusOf(s, topUpId)).toBe('REFUNDED');
    expect((await auditOf(s, customer.id)).filter((e) => e.actor === 'system:gateway')).toEqual([
      { actor: 'system:gateway', action: 'topUpRefused', targetType: 'Wallet', details: expect.objectContaining({ topUpId, reason: 'WALLET_FULL', balance: full }) },
    ]);

    const refused = await s.gql(TopUpWalletDocument, { amount: 5000 }, customer.token);
    expect(codeOf(refused)).toBe('BAD_USER_INPUT');
    expect(refused.errors![0].extensions!.field).toBe('amount');
    ok(await s.gql(TopUpWalletDocument, { amount: 3647 }, customer.token));
  });

  test('an expired session and a failed delayed payment are recorded; a payment arriving after is refunded', async () => {
    const expired = await topUp(s, 1500);
    const sessionEvent = (sessionId: string, type: string) => ({
      id: `evt_${randomUUID()}`,
      object: 'event',
      type,
      data: { object: { id: sessionId, object: 'checkout.session', amount_total: 1500, currency: 'usd', payment_status: 'unpaid', status: 'expired' } },
    });
    expect((await postWebhook(s.url, sessionEvent(expired.sessionId, 'checkout.session.expired'))).status).toBe(200);
    expect(await statusOf(s, expired.topUpId)).toBe('EXPIRED');
    // Paid at the gateway all the same (a race with the expiry): refunded, never credited.
    const late = stub.completeCheckout(expired.sessionId) as { data: { object: { payment_intent: string } } };
    expect((await postWebhook(s.url, late)).status).toBe(200);
    await until('the refund of the late payment', async () => refundRequestsFor(late.data.object.payment_intent).length === 1);
    expect(await balanceOf(s, expired.customer.id)).toBe(0);
    expect((await auditOf(s, expired.customer.id)).map((e) => [e.actor, e.action, e.details.topUpId])).toEqual([
      ['system:gateway', 'checkoutExpired', expired.topUpId],
      ['system:gateway', 'topUpLatePayment', expired.topUpId],
    ]);

    const failed = await topUp(s, 1600);
    expect((await postWebhook(s.url, sessionEvent(failed.sessionId, 'checkout.session.async_payment_failed'))).status).toBe(200);
    expect(await statusOf(s, failed.topUpId)).toBe('FAILED');
    expect((await auditOf(s, failed.customer.id)).map((e) => [e.action, e.details.sessionId])).toEqual([['asyncPaymentFailed', failed.sessionId]]);
  });
});

describe('topUpWallet on the development gateway', () => {
  let d: TestServer;
  beforeAll(async () => {
    d = await startTestServer({ STRIPE_SECRET_KEY: undefined, STRIPE_WEBHOOK_SECRET: undefined, STRIPE_API_URL: undefined, PUBLIC_URL });
  });
  afterAll(async () => {
    await expectLedgerSound((text, params) => d.sql(text, params));
    await d.stop();
  });

  const submit = (url: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'result=1', redirect: 'manual' });

  test('opens a local checkout page; its Pay button credits the wallet once through the webhook path', async () => {
    const { customer, opened, topUpId } = await topUp(d, 2500);
    expect(opened.checkoutUrl).toMatch(new RegExp(`^${PUBLIC_URL}/dev-gateway/checkout/cs_dev_[0-9a-f]+$`));
    const local = `${d.url}${new URL(opened.checkoutUrl).pathname}`;
    const html = await (await fetch(local)).text();
    expect(html).toContain('Wallet top-up');
    expect(html).toContain(customer.id);
    expect(html).toContain('25.00');
    expect(html).toMatch(/action="\/dev-gateway\/checkout\/cs_dev_[0-9a-f]+\/pay"/);

    for (let i = 0; i < 2; i++) {
      const res = await submit(`${local}/pay`);
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe(`${PUBLIC_URL}/checkout/success?topUp=${topUpId}`);
    }
    expect(await walletOf(d, customer)).toEqual({ balance: 2500, transactions: [{ kind: 'TOP_UP', amount: 2500 }] });
    expect(await (await fetch(local)).text()).toContain('This checkout is credited');
    const dAdmin = await token(`admin-${randomUUID()}`, 'admin');
    expect((await auditOf(d, customer.id, dAdmin)).map((e) => [e.actor, e.action])).toEqual([['system:gateway', 'topUpCredited']]);
  });

  test('the Fail button credits nothing and returns to the cancel page', async () => {
    const { customer, opened, topUpId } = await topUp(d, 900);
    const res = await submit(`${d.url}${new URL(opened.checkoutUrl).pathname}/fail`);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`${PUBLIC_URL}/checkout/cancel?topUp=${topUpId}`);
    expect(await balanceOf(d, customer.id)).toBe(0);
  });
});
