import { counters, createCoupon, createOrder, createPlan, newCustomer } from '../support/orders';
import { startTestServer, token, type GqlResult, type TestServer } from '../support/server';

/**
 * Limits under concurrency: every race fires its requests at once, alternating between two server
 * instances that share one database, and then checks the answers and the stored counters.
 */
let a: TestServer;
let b: TestServer;
/**
 * Pools wide enough for the races; no job runner (API instances as run beside a separate worker): the
 * limits are the database's, and up to four instances of this file beside another file's servers must
 * stay under PostgreSQL's 100 connections, or a request fails for want of one.
 */
const RACING = { DB_POOL_SIZE: '12', RUN_WORKER: 'false' };
beforeAll(async () => {
  a = await startTestServer(RACING);
  b = await startTestServer(RACING, { databaseUrl: a.databaseUrl });
});
afterAll(() => Promise.all([a?.stop(), b?.stop()]));

const N = 20;

/** Runs `n` requests at once, request i on instance i % 2. */
function race(n: number, servers: TestServer[], run: (s: TestServer, i: number) => Promise<GqlResult>): Promise<GqlResult[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => run(servers[i % servers.length], i)));
}

/**
 * A token for a customer whose row already exists. (The customer row is created on a caller's first
 * request; these races are about orders, not about 20 first requests of one new customer.)
 */
async function knownCustomer(s: TestServer, id: string): Promise<string> {
  const tok = await token(id);
  await s.gql(`{ me { id } }`, {}, tok);
  return tok;
}

const ok = (rs: GqlResult[]) => rs.filter((r) => !r.errors);
const codes = (rs: GqlResult[]) => rs.filter((r) => r.errors).map((r) => r.errors![0].extensions!.code);

test(`coupon maxUses 5: ${N} customers at once -> exactly 5 orders, the rest USAGE_LIMIT_REACHED`, async () => {
  const plan = await createPlan(a);
  const coupon = await createCoupon(a, { maxUses: 5 });
  const tokens = await Promise.all(Array.from({ length: N }, () => token(newCustomer())));
  const rs = await race(N, [a, b], (s, i) => createOrder(s, tokens[i], { planId: plan.id, couponCode: coupon.code }));
  expect(ok(rs)).toHaveLength(5);
  expect(codes(rs)).toEqual(Array(N - 5).fill('COUPON_INVALID'));
  expect(rs.filter((r) => r.errors).map((r) => r.errors![0].extensions!.rejection)).toEqual(Array(N - 5).fill('USAGE_LIMIT_REACHED'));
  expect((await counters(a, { couponId: coupon.id })).couponUsed).toBe(5);
  expect((await a.sql(`select count(*)::int as n from "order" where coupon_id = $1`, [coupon.id]))[0].n).toBe(5);
});

test(`plan stock 3: ${N} customers at once -> exactly 3 orders, the rest OUT_OF_STOCK`, async () => {
  const plan = await createPlan(a, { stock: 3 });
  const tokens = await Promise.all(Array.from({ length: N }, () => token(newCustomer())));
  const rs = await race(N, [a, b], (s, i) => createOrder(s, tokens[i], { planId: plan.id }));
  expect(ok(rs)).toHaveLength(3);
  expect(codes(rs)).toEqual(Array(N - 3).fill('OUT_OF_STOCK'));
  expect((await counters(a, { planId: plan.id })).stockUsed).toBe(3);
  expect((await a.sql(`select count(*)::int as n from "order" where plan_id = $1`, [plan.id]))[0].n).toBe(3);
});

test(`unpaid cap: ${N} orders of one customer at once -> exactly MAX_UNPAID_ORDERS (3)`, async () => {
  const plan = await createPlan(a);
  const customer = newCustomer();
  const tok = await knownCustomer(a, customer);
  const rs = await race(N, [a, b], (s) => createOrder(s, tok, { planId: plan.id }));
  expect(ok(rs)).toHaveLength(3);
  expect(codes(rs)).toEqual(Array(N - 3).fill('UNPAID_ORDER_LIMIT'));
  expect((await counters(a, { customerId: customer })).unpaid).toBe(3);
  expect((await a.sql(`select count(*)::int as n from "order" where customer_id = $1`, [customer]))[0].n).toBe(3);
});

test(`one idempotencyKey: ${N} requests at once -> one order, every answer carries its id`, async () => {
  const plan = await createPlan(a, { stock: 50 });
  const customer = newCustomer();
  const tok = await knownCustomer(a, customer);
  const rs = await race(N, [a, b], (s) => createOrder(s, tok, { planId: plan.id, idempotencyKey: 'pay-button-1' }));
  expect(rs.filter((r) => r.errors)).toEqual([]);
  const ids = new Set(rs.map((r) => r.data!.createOrder.id));
  expect(ids.size).toBe(1);
  expect((await a.sql(`select count(*)::int as n from "order" where customer_id = $1`, [customer]))[0].n).toBe(1);
  expect(await counters(a, { planId: plan.id, customerId: customer })).toMatchObject({ stockUsed: 1, unpaid: 1 });
});

test(`coupon maxUsesPerUser 1: ${N} orders of one customer at once -> exactly 1, the rest PER_USER_LIMIT_REACHED`, async () => {
  // The unpaid cap is raised on these instances so only the coupon's per-customer limit decides.
  const env = { ...RACING, MAX_UNPAID_ORDERS: '100' };
  const c = await startTestServer(env, { databaseUrl: a.databaseUrl });
  const d = await startTestServer(env, { databaseUrl: a.databaseUrl });
  try {
    const plan = await createPlan(c);
    const coupon = await createCoupon(c, { maxUsesPerUser: 1 });
    const customer = newCustomer();
    const tok = await knownCustomer(c, customer);
    const rs = await race(N, [c, d], (s) => createOrder(s, tok, { planId: plan.id, couponCode: coupon.code }));
    expect(ok(rs)).toHaveLength(1);
    expect(codes(rs)).toEqual(Array(N - 1).fill('COUPON_INVALID'));
    expect(rs.filter((r) => r.errors).map((r) => r.errors![0].extensions!.rejection)).toEqual(Array(N - 1).fill('PER_USER_LIMIT_REACHED'));
    expect(await counters(c, { couponId: coupon.id, customerId: customer })).toEqual({ stockUsed: undefined, couponUsed: 1, unpaid: 1, customerUses: 1 });
  } finally {
    await Promise.all([c.stop(), d.stop()]);
  }
});
