import type { ApolloServerPlugin } from '@apollo/server';
import { randomUUID } from 'node:crypto';
import { createOrder, createPlan, newCustomer } from '../support/orders';
import { startTestServer, token, type TestServer } from '../support/server';

/**
 * Queries and mutations are answered before Apollo's request pipeline when nothing in them needs it
 * (src/http/direct-operations.ts). A client must not be able to tell: for every kind of request, the
 * answer given there (a plain POST) is compared with Apollo's own for the same request (sent with an
 * empty `extensions`, which Apollo ignores and which keeps a request in its pipeline), and a counting
 * plugin shows which of the two reached Apollo.
 */

interface Answer {
  status: number;
  type: string | null;
  retryAfter: string | null;
  body: any;
}

let s: TestServer;
const logLines: Array<Record<string, any>> = [];
let reachedApollo = 0;
const counting: ApolloServerPlugin<any> = {
  async requestDidStart() {
    reachedApollo++;
  },
};

beforeAll(async () => {
  s = await startTestServer(
    { RUN_WORKER: 'false', GRAPHQL_INTROSPECTION: 'false', MUTATION_RATE_LIMIT: '4', LOG_LEVEL: 'error' },
    { app: { plugins: [counting], logStream: { write: (line) => logLines.push(JSON.parse(line)) } } },
  );
});
afterAll(() => s.stop());

async function post(body: Record<string, unknown>, auth?: string, headers: Record<string, string> = {}): Promise<Answer & { apollo: boolean }> {
  const before = reachedApollo;
  const res = await fetch(`${s.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}), ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), retryAfter: res.headers.get('retry-after'), body: JSON.parse(text), apollo: reachedApollo > before };
}

/**
 * The same request sent plainly and kept in Apollo's pipeline: checks that the answers match, and that
 * the plain one was answered `direct`ly or not (undefined: a refusal Apollo makes before its plugins
 * run, which the counting plugin cannot see).
 */
async function bothWays(query: string, variables: Record<string, unknown> | undefined, auth: string | undefined, direct: boolean | undefined) {
  const here = await post({ query, variables }, auth);
  const apollo = await post({ query, variables, extensions: {} }, auth);
  if (direct !== undefined) {
    expect(apollo.apollo).toBe(true);
    expect(here.apollo).toBe(!direct);
  }
  const { apollo: _a, ...hereAnswer } = here;
  const { apollo: _b, ...apolloAnswer } = apollo;
  expect(hereAnswer).toEqual(apolloAnswer);
  return here;
}

const bearer = async (sub = newCustomer(), role?: 'admin') => `Bearer ${await token(sub, role)}`;

test('a query with a token is answered directly, as Apollo answers it', async () => {
  const auth = await bearer();
  const r = await bothWays('query Me { me { id group } wallet { balance { amount currency } } }', undefined, auth, true);
  expect(r.status).toBe(200);
  expect(r.type).toBe('application/json; charset=utf-8');
  expect(r.body.data.wallet.balance.amount).toBe(0);
});

test('a mutation is answered directly, runs once, and reads back as the same order', async () => {
  const plan = await createPlan(s, { name: `direct-${randomUUID()}`, price: 1500 });
  const auth = await bearer();
  const before = reachedApollo;
  const placed = await post({ query: 'mutation Place($input: CreateOrderInput!) { createOrder(input: $input) { id status total { amount } } }', variables: { input: { planId: plan.id } } }, auth);
  expect(placed.apollo).toBe(false);
  expect(placed.status).toBe(200);
  expect(placed.body.errors).toBeUndefined();
  expect(placed.body.data.createOrder).toMatchObject({ status: 'PENDING' });
  const rows = await s.sql('select status, total from "order" where id = $1', [placed.body.data.createOrder.id]);
  expect(rows).toEqual([{ status: 'PENDING', total: placed.body.data.createOrder.total.amount }]);
  expect(reachedApollo).toBe(before);
});

test("a mutation's refusal (NOT_FOUND, UNAUTHENTICATED) reads the same as Apollo's", async () => {
  const cancel = 'mutation Cancel($id: ID!) { cancelOrder(orderId: $id) { id status } }';
  const missing = await bothWays(cancel, { id: randomUUID() }, await bearer(), true);
  expect(missing.body.errors[0].extensions.code).toBe('NOT_FOUND');
  const anonymous = await bothWays(cancel, { id: randomUUID() }, undefined, true);
  expect(anonymous.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
});

test('refusals before execution are left to Apollo: bad token, bad document, bad variables, NUL, introspection off', async () => {
  const badToken = await bothWays('{ me { id } }', undefined, 'Bearer not-a-token', undefined);
  expect(badToken.status).toBe(401);
  expect(badToken.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  const unknownField = await bothWays('{ me { nope } }', undefined, await bearer(), false);
  expect(unknownField.body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
  const badVariables = await bothWays('query O($id: ID!) { order(id: $id) { id } }', { id: { not: 'an id' } }, await bearer(), false);
  expect(badVariables.status).toBe(400);
  expect(badVariables.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  const nul = await bothWays('query P($code: String!, $plan: ID!) { couponPreview(code: $code, planId: $plan) { code } }', { code: 'A\u0000B', plan: randomUUID() }, await bearer(), false);
  expect(nul.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  const introspection = await bothWays('{ __schema { queryType { name } } }', undefined, await bearer(), false);
  expect(introspection.body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
});

test('other content types, Accept headers and subscriptions go to Apollo', async () => {
  const auth = await bearer();
  expect((await post({ query: '{ me { id } }' }, auth, { accept: 'application/graphql-response+json' })).apollo).toBe(true);
  expect((await post({ query: 'subscription { orderUpdated(orderId: "x") { id } }' }, auth)).apollo).toBe(true);
  expect((await post({ query: '{ plans { id } }' }, auth)).apollo).toBe(true);
});

test('the rate limit refuses a direct mutation with 429 and Retry-After, as Apollo does, per caller', async () => {
  const auth = await bearer();
  const cancel = { query: 'mutation Cancel($id: ID!) { cancelOrder(orderId: $id) { id } }', variables: { id: randomUUID() } };
  const codes: string[] = [];
  for (let i = 0; i < 4; i++) codes.push((await post(cancel, auth)).body.errors[0].extensions.code);
  expect(codes).toEqual(['NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND']);
  const here = await post(cancel, auth);
  const apollo = await post({ ...cancel, extensions: {} }, auth);
  expect([here.apollo, apollo.apollo]).toEqual([false, true]);
  for (const a of [here, apollo]) {
    expect(a.status).toBe(429);
    expect(Number(a.retryAfter)).toBeGreaterThan(0);
    expect(a.body.errors).toHaveLength(1);
    expect(a.body.errors[0]).toMatchObject({ message: here.body.errors[0].message, extensions: { code: 'RATE_LIMITED', limit: 4 } });
    expect(a.body.data).toBeUndefined();
  }
  // Counted per caller: another caller still has the whole allowance.
  const other = await bearer();
  for (let i = 0; i < 4; i++) expect((await post(cancel, other)).body.errors[0].extensions.code).toBe('NOT_FOUND');
});

test('an order placed directly is the caller’s, as Apollo would have placed it', async () => {
  const sub = newCustomer();
  const plan = await createPlan(s, { name: `mine-${randomUUID()}` });
  const placed = await createOrder(s, await token(sub), { planId: plan.id });
  expect(placed.errors).toBeUndefined();
  const listed = await bothWays('query Mine { myOrders(first: 5) { edges { node { id } } } }', undefined, await bearer(sub), true);
  expect(listed.body.data.myOrders.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([placed.data!.createOrder.id]);
});

test('an unexpected error is masked alike, on every run of its document, and logged with the request id', async () => {
  const auth = await bearer();
  const query = 'query Mine { myOrders(first: 5) { edges { node { id } } } }';
  // The orders table is away: reading a page fails in SQL, which no client may see.
  await s.sql('alter table "order" rename to order_away');
  try {
    for (let run = 0; run < 2; run++) {
      const r = await bothWays(query, undefined, auth, true);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({
        errors: [{ message: 'Internal server error', locations: [{ line: 1, column: 14 }], path: ['myOrders'], extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
        data: null,
      });
    }
    const reqId = `direct-${randomUUID().slice(0, 8)}`;
    await post({ query }, auth, { 'x-request-id': reqId });
    expect(logLines.filter((l) => l.reqId === reqId && l.msg === 'unexpected error')).toEqual([expect.objectContaining({ op: 'Mine', err: expect.objectContaining({ message: expect.stringContaining('order') }) })]);
  } finally {
    await s.sql('alter table order_away rename to "order"');
  }
});
