import { createClient } from 'graphql-ws';
import { randomUUID } from 'node:crypto';
import Stripe from 'stripe';
import WebSocket from 'ws';
import { codeOf, startTestServer, token, type GqlResult, type TestServer } from '../support/server';
import { checkoutEvent, startStripeStub, STRIPE_TEST_KEYS, type StripeStub } from '../support/stripe-stub';

/**
 * Security review as tests: every operation that returns or changes an order, delivery, wallet or
 * customer, walked as a stranger (another customer, a provider of another plan, no token at all),
 * must be refused with no data and change nothing; tokens on the WebSocket path get no further than
 * on HTTP; a captured webhook cannot be replayed with a fresh timestamp.
 */
let s: TestServer;
let stub: StripeStub;
const owner = `cust-${randomUUID()}`;
const stranger = `cust-${randomUUID()}`;
const otherProvider = `prov-${randomUUID()}`;
const tokens: Record<string, string> = {};
let orderId: string;
let paidOrderId: string;
let couponId: string;
let balanceBefore: number;

beforeAll(async () => {
  stub = await startStripeStub();
  s = await startTestServer({ ...STRIPE_TEST_KEYS, STRIPE_API_URL: stub.url, RUN_WORKER: 'false' });
  const admin = await token(`admin-${randomUUID()}`, 'admin');
  tokens.owner = await token(owner);
  tokens.stranger = await token(stranger);
  tokens.provider = await token(otherProvider, 'provider');
  const provider = `prov-${randomUUID()}`;
  await s.gql(`{ me { id } }`, {}, await token(provider, 'provider'));
  await s.gql(`{ me { id } }`, {}, tokens.provider);
  const plan = await s.gql(`mutation($i: CreatePlanInput!) { createPlan(input: $i) { id } }`, { i: { name: 'Guarded', price: 1000, providerId: provider } }, admin);
  expect(plan.errors).toBeUndefined();
  const planId = plan.data.createPlan.id;
  const coupon = await s.gql(`mutation($i: CreateCouponInput!) { createCoupon(input: $i) { id } }`, { i: { code: `SEC${randomUUID().slice(0, 6)}`, kind: 'PERCENT', value: 10 } }, admin);
  couponId = coupon.data.createCoupon.id;
  const create = async () => (await s.gql(`mutation($i: CreateOrderInput!) { createOrder(input: $i) { id } }`, { i: { planId } }, tokens.owner)).data.createOrder.id as string;
  orderId = await create();
  paidOrderId = await create();
  await s.gql(`mutation { creditWallet(customerId: "${owner}", amount: 5000, reference: "sec-${randomUUID()}") { balance { amount } } }`, {}, admin);
  const paid = await s.gql(`mutation($id: ID!) { payWithWallet(orderId: $id) { status } }`, { id: paidOrderId }, tokens.owner);
  expect(paid.data?.payWithWallet.status).toBe('PAID');
  balanceBefore = (await s.gql(`{ wallet { balance { amount } } }`, {}, tokens.owner)).data.wallet.balance.amount;
});
afterAll(async () => {
  await s?.stop();
  await stub?.close();
});

const REFUSED = ['FORBIDDEN', 'NOT_FOUND', 'UNAUTHENTICATED'];

/** Operations naming the owner's things; `$o` is a pending order, `$p` a paid one. */
const walk: Record<string, string> = {
  order: `query($o: ID!) { order(id: $o) { id status total { amount } } }`,
  orderPaid: `query($p: ID!) { order(id: $p) { id status delivery { status } } }`,
  coupon: `query($c: ID!) { coupon(id: $c) { id code usedCount } }`,
  orderLedger: `query($p: ID!) { orderLedger(orderId: $p) { account amount { amount } actor } }`,
  payWithWallet: `mutation($o: ID!) { payWithWallet(orderId: $o) { id status } }`,
  payWithGateway: `mutation($o: ID!) { payWithGateway(orderId: $o) { checkoutUrl order { id } } }`,
  cancelOrder: `mutation($o: ID!) { cancelOrder(orderId: $o) { id status } }`,
  refundOrder: `mutation($p: ID!) { refundOrder(orderId: $p) { id status } }`,
  setDeliveryStatus: `mutation($p: ID!) { setDeliveryStatus(orderId: $p, status: IN_PROGRESS) { id status } }`,
  setCustomerGroup: `mutation($c: ID!) { setCustomerGroup(customerId: $c, group: "vip") { id group } }`,
  creditWallet: `mutation($c: ID!) { creditWallet(customerId: $c, amount: 100000, reference: "steal") { balance { amount } } }`,
  createPlan: `mutation { createPlan(input: { name: "Mine now", price: 1 }) { id } }`,
  setCouponEnabled: `mutation($c: ID!) { setCouponEnabled(id: $c, enabled: false) { id enabled } }`,
};
const varsFor = (name: string): Record<string, string> =>
  name === 'setCustomerGroup' || name === 'creditWallet' ? { c: owner } : name === 'coupon' || name === 'setCouponEnabled' ? { c: couponId } : { o: orderId, p: paidOrderId };
/** Variables an operation declares, taken from `varsFor`. */
const declared = (query: string, vars: Record<string, string>) => Object.fromEntries(Object.entries(vars).filter(([k]) => query.includes(`$${k}:`)));

function expectRefused(r: GqlResult, who: string, name: string) {
  const code = codeOf(r);
  if (!REFUSED.includes(code ?? '')) throw new Error(`${who} → ${name}: expected a refusal, got ${JSON.stringify(r)}`);
  // No data: none at all, or only the refused (nullable) field as null.
  for (const v of Object.values(r.data ?? {})) expect(v).toBeNull();
  const text = JSON.stringify(r.errors);
  expect(text).not.toContain(owner); // never another customer's id
  expect(text).not.toMatch(/select |insert |update |violates|stack|\.ts:\d+/i);
}

describe.each([
  ['another customer', 'stranger'],
  ['a provider of another plan', 'provider'],
  ['no token', null],
])('as %s', (who, key) => {
  test.each(Object.keys(walk))('%s is refused with no data', async (name) => {
    const auth = key ? tokens[key] : null;
    const query = walk[name];
    expectRefused(await s.gql(query, declared(query, varsFor(name)), auth), who, name);
  });
});

test('lists show strangers only their own: myOrders, wallet, myDeliveries', async () => {
  const mine = await s.gql(`{ myOrders(first: 100) { edges { node { id } } } wallet { balance { amount } transactions(first: 50) { edges { node { orderId } } } } }`, {}, tokens.stranger);
  expect(mine.errors).toBeUndefined();
  expect(mine.data.myOrders.edges).toEqual([]);
  expect(mine.data.wallet.balance.amount).toBe(0);
  expect(mine.data.wallet.transactions.edges).toEqual([]);
  const deliveries = await s.gql(`{ myDeliveries { id } }`, {}, tokens.provider);
  expect(deliveries.data?.myDeliveries ?? []).toEqual([]);
  const asCustomer = await s.gql(`{ myDeliveries { id } }`, {}, tokens.stranger);
  if (asCustomer.errors) expect(REFUSED).toContain(codeOf(asCustomer));
  else expect(asCustomer.data.myDeliveries).toEqual([]);
});

test('orderUpdated on someone else’s order is refused over the socket, with no event', async () => {
  const client = createClient({ url: s.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${tokens.stranger}` }, retryAttempts: 0, lazy: true });
  const outcome = await new Promise<{ data: unknown[]; errors: any[] }>((resolve) => {
    const data: unknown[] = [];
    client.subscribe(
      { query: `subscription($o: ID!) { orderUpdated(orderId: $o) { id status } }`, variables: { o: orderId } },
      { next: (r) => (r.errors ? resolve({ data, errors: r.errors as any[] }) : data.push(r.data)), error: (e) => resolve({ data, errors: Array.isArray(e) ? e : [e] }), complete: () => resolve({ data, errors: [] }) },
    );
  });
  await client.dispose();
  expect(outcome.data).toEqual([]);
  expect(REFUSED).toContain(outcome.errors[0]?.extensions?.code);
});

test('after the whole walk the owner’s orders, wallet and group are untouched', async () => {
  const r = await s.gql(`query($o: ID!, $p: ID!) { a: order(id: $o) { status version } b: order(id: $p) { status version delivery { status } } me { group } wallet { balance { amount } } }`, { o: orderId, p: paidOrderId }, tokens.owner);
  expect(r.errors).toBeUndefined();
  expect(r.data.a).toEqual({ status: 'PENDING', version: 1 });
  expect(r.data.b).toMatchObject({ status: 'PAID', delivery: { status: 'NEW' } });
  expect(r.data.me.group).toBe('default');
  expect(r.data.wallet.balance.amount).toBe(balanceBefore);
  expect(stub.requestsTo('/v1/checkout/sessions')).toHaveLength(0);
});

describe('tokens on the WebSocket path', () => {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const none = () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: owner, role: 'admin', exp: Math.floor(Date.now() / 1000) + 600 })}.`;

  async function closeCode(connectionParams: object | undefined, extensions?: object): Promise<number> {
    const ws = new WebSocket(s.wsUrl, 'graphql-transport-ws');
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'connection_init', payload: connectionParams }));
    ws.on('message', (d) => {
      if (JSON.parse((d as Buffer).toString()).type === 'connection_ack') ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ me { id } }', extensions } }));
    });
    return closed;
  }

  test('alg: none in connectionParams closes with 4403', async () => {
    expect(await closeCode({ authorization: `Bearer ${none()}` })).toBe(4403);
  });
  test('alg: none in the IDE’s extensions.headers closes with 4403', async () => {
    expect(await closeCode({}, { headers: { Authorization: `Bearer ${none()}` } })).toBe(4403);
  });
  test('a token signed with another secret closes with 4403; none at all with 4401', async () => {
    expect(await closeCode({ authorization: `Bearer ${await token(owner, 'admin', { secret: 'another-secret-0123456789-abcdef' })}` })).toBe(4403);
    expect(await closeCode({})).toBe(4401);
  });
});

test('a captured webhook replayed with a fresh timestamp is refused (400) and pays nothing', async () => {
  const signer = new Stripe('sk_test_x');
  const event = checkoutEvent({ id: `cs_${randomUUID()}`, amount_total: 1000, currency: 'usd', orderId });
  const payload = JSON.stringify(event);
  const captured = signer.webhooks.generateTestHeaderString({ payload, secret: STRIPE_TEST_KEYS.STRIPE_WEBHOOK_SECRET, timestamp: Math.floor(Date.now() / 1000) - 3600 });
  const refreshed = captured.replace(/t=\d+/, `t=${Math.floor(Date.now() / 1000)}`);
  for (const header of [captured, refreshed]) {
    const res = await fetch(`${s.url}/webhooks/stripe`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': header }, body: payload });
    expect(res.status).toBe(400);
  }
  const r = await s.gql(`query($o: ID!) { order(id: $o) { status } }`, { o: orderId }, tokens.owner);
  expect(r.data.order.status).toBe('PENDING');
});
