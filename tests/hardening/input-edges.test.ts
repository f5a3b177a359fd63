import { parse, type OperationDefinitionNode } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { createHash, randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { answerKey } from '../../src/http/catalogue-responses';
import { unstorableTextError } from '../../src/http/input';
import { codeOf, startTestServer, token, type TestServer } from '../support/server';

/** Every JSON log line the server wrote. */
const lines: string[] = [];
const errorLines = () => lines.map((l) => JSON.parse(l) as Record<string, any>).filter((l) => l.level >= 50);

let s: TestServer;
let admin: string;
let customer: string;
beforeAll(async () => {
  s = await startTestServer({ LOG_LEVEL: 'info' }, { app: { logStream: { write: (line) => void lines.push(line) } } });
  admin = await token(`admin-${randomUUID()}`, 'admin');
  customer = await token(`cust-${randomUUID()}`);
});
afterAll(() => s?.stop());

/** Posts a raw JSON body to /graphql, with a token when `auth` is given. */
async function postRaw(body: string, auth?: string) {
  const res = await fetch(`${s.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}) }, body });
  return { status: res.status, json: (await res.json()) };
}

/** `depth` arrays, each inside the next, as JSON text. */
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

/** Sends `code` as a coupon code over a WebSocket: the operation is refused with BAD_USER_INPUT, the socket runs the next one, nothing is logged as an error. */
async function expectRefusedOverSocket(code: string): Promise<void> {
  const client: Client = createClient({ url: s.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${customer}` }, retryAttempts: 0, lazy: true });
  const run = (query: string, variables?: Record<string, unknown>) =>
    new Promise<{ data?: any; errors?: any[] }>((resolve) => {
      let result: { data?: any; errors?: any[] } = {};
      client.subscribe({ query, variables }, { next: (r) => (result = r as typeof result), error: (e) => resolve({ errors: Array.isArray(e) ? e : [e] }), complete: () => resolve(result) });
    });
  try {
    const refused = await run(`query($c: String!, $p: ID!) { couponPreview(code: $c, planId: $p) { valid } }`, { c: code, p: randomUUID() });
    expect(refused.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect((await run(`{ me { id } }`)).errors).toBeUndefined();
  } finally {
    await client.dispose();
  }
  expect(errorLines()).toEqual([]);
}

describe('a NUL character (U+0000) in any argument is BAD_USER_INPUT, never INTERNAL_SERVER_ERROR', () => {
  test('in variables of queries and mutations: 400 BAD_USER_INPUT naming the variable, nothing written, no error logged', async () => {
    const name = `nul-${randomUUID()}`;
    const plan = await s.gql(`mutation($n: String!, $d: String) { createPlan(input: { name: $n, description: $d, price: 100 }) { id } }`, { n: name, d: 'a\u0000b' }, admin);
    expect([plan.status, codeOf(plan)]).toEqual([400, 'BAD_USER_INPUT']);
    expect(plan.errors?.[0].message).toMatch(/"\$d".*NUL/);
    expect(await s.sql(`select 1 from plan where name = $1`, [name])).toHaveLength(0);

    const planId = (await s.gql(`mutation($n: String!) { createPlan(input: { name: $n, price: 100 }) { id } }`, { n: name }, admin)).data.createPlan.id;
    const cases: Array<[string, Record<string, unknown>, string]> = [
      [`query($c: String!, $p: ID!) { couponPreview(code: $c, planId: $p) { valid } }`, { c: 'SAVE\u0000', p: planId }, customer],
      [`mutation($p: ID!, $k: String) { createOrder(input: { planId: $p, idempotencyKey: $k }) { id } }`, { p: planId, k: 'k\u0000' }, customer],
      [`mutation($p: ID!, $k: String) { createOrder(input: { planId: $p, couponCode: $k }) { id } }`, { p: planId, k: 'c\u0000' }, customer],
      [`mutation($c: String!, $k: CouponKind!) { createCoupon(input: { code: $c, kind: $k, value: 5 }) { id } }`, { c: 'NUL\u0000', k: 'FIXED' }, admin],
      [`mutation($c: ID!) { creditWallet(customerId: $c, amount: 5, reference: "r") { balance { amount } } }`, { c: 'x\u0000' }, admin],
      [`mutation($c: ID!) { setCustomerGroup(customerId: $c, group: "vip") { id } }`, { c: 'x\u0000' }, admin],
      // Nested in an input object and a list.
      [`mutation($i: CreatePlanInput!) { createPlan(input: $i) { id } }`, { i: { name: 'ok', price: 1, upgrades: [{ name: 'u\u0000', price: 1 }] } }, admin],
    ];
    for (const [query, variables, auth] of cases) {
      const r = await s.gql(query, variables, auth);
      expect([query, r.status, codeOf(r)]).toEqual([query, 400, 'BAD_USER_INPUT']);
    }
    expect(await s.sql(`select 1 from coupon where code like 'NUL%'`)).toHaveLength(0);
    expect(await s.sql(`select 1 from plan where name = 'ok'`)).toHaveLength(0);
    expect(errorLines()).toEqual([]);
  });

  test('in a string literal of the document: 400 BAD_USER_INPUT', async () => {
    for (const query of [`{ plan(id: "a\\u0000") { id } }`, `mutation { createPlan(input: { name: "x", price: 1, providerId: "p\\u0000" }) { id } }`]) {
      const r = await s.gql(query, {}, admin);
      expect([query, r.status, codeOf(r)]).toEqual([query, 400, 'BAD_USER_INPUT']);
    }
    expect(errorLines()).toEqual([]);
  });

  test('over WebSocket: the operation gets BAD_USER_INPUT and the socket stays usable', async () => {
    await expectRefusedOverSocket('A\u0000');
  });
});

describe('a lone UTF-16 surrogate in any argument is BAD_USER_INPUT, never INTERNAL_SERVER_ERROR', () => {
  // JSON may escape half a surrogate pair ("\ud800"): the server then holds a string that is not Unicode,
  // which jsonb refuses (the audit log) and text columns store as U+FFFD. JSON.stringify writes such a
  // string as that escape, so s.gql sends it exactly as a hand-written body would.
  test('in a JSON body written by hand: 400 BAD_USER_INPUT naming the variable and the surrogate, no plan, no error logged', async () => {
    const name = `ls-${randomUUID()}`;
    const query = `mutation($n: String!) { createPlan(input: { name: $n, price: 100 }) { id } }`;
    const r = await postRaw(`{"query":${JSON.stringify(query)},"variables":{"n":"${name}\\ud800"}}`, admin);
    expect([r.status, r.json.errors?.[0].extensions?.code]).toEqual([400, 'BAD_USER_INPUT']);
    expect(r.json.errors[0].message).toMatch(/"\$n".*lone UTF-16 surrogate \(U\+D800\)/);
    expect(await s.sql(`select 1 from plan where name like $1`, [`${name}%`])).toHaveLength(0);
    expect(errorLines()).toEqual([]);
  });

  test('in variables of queries and mutations, high or low half, anywhere in the value: 400 BAD_USER_INPUT, nothing written', async () => {
    const plan = await s.gql(`mutation { createPlan(input: { name: "ls-update", description: "before", price: 100 }) { id } }`, {}, admin);
    const planId = plan.data.createPlan.id as string;
    const sub = `ls-cust-${randomUUID()}`;
    await s.gql(`{ me { id } }`, {}, await token(sub));
    const cases: Array<[string, Record<string, unknown>, string]> = [
      [`mutation($c: String!) { createCoupon(input: { code: $c, kind: FIXED, value: 5 }) { id } }`, { c: 'LS\udc00X' }, admin],
      [`mutation($id: ID!, $d: String) { updatePlan(id: $id, input: { description: $d }) { id } }`, { id: planId, d: 'after\ud800' }, admin],
      [`mutation($c: ID!, $r: String!) { creditWallet(customerId: $c, amount: 500, reference: $r) { balance { amount } } }`, { c: sub, r: 'ref-\ud800' }, admin],
      [`query($c: String!, $p: ID!) { couponPreview(code: $c, planId: $p) { valid } }`, { c: '\udbff', p: planId }, customer],
      [`mutation($p: ID!, $k: String) { createOrder(input: { planId: $p, idempotencyKey: $k }) { id } }`, { p: planId, k: 'k\ude00' }, customer],
      // Nested in an input object and a list, and as an object key.
      [`mutation($i: CreatePlanInput!) { createPlan(input: $i) { id } }`, { i: { name: 'ls-nested', price: 1, upgrades: [{ name: 'u\ud83d', price: 1 }] } }, admin],
      [`mutation($i: CreatePlanInput!) { createPlan(input: $i) { id } }`, { i: { name: 'ls-nested', price: 1, '\ud800': 1 } }, admin],
    ];
    for (const [query, variables, auth] of cases) {
      const r = await s.gql(query, variables, auth);
      expect([query, r.status, codeOf(r)]).toEqual([query, 400, 'BAD_USER_INPUT']);
      expect(r.errors?.[0].message).toMatch(/^Variable "\$\w+" contains a lone UTF-16 surrogate \(U\+D[89A-F][0-9A-F]{2}\)/);
    }
    expect(await s.sql(`select 1 from coupon where code like 'LS%'`)).toHaveLength(0);
    expect((await s.sql(`select description from plan where id = $1`, [planId]))[0].description).toBe('before');
    expect(await s.sql(`select 1 from wallet_credit where customer_id = $1`, [sub])).toHaveLength(0);
    expect(await s.sql(`select 1 from "order" where plan_id = $1`, [planId])).toHaveLength(0);
    expect(await s.sql(`select 1 from plan where name = 'ls-nested'`)).toHaveLength(0);
    expect(errorLines()).toEqual([]);
  });

  test('a whole surrogate pair (an emoji) is well-formed and stored as sent', async () => {
    const name = `ls-pair-\ud83d\ude00-${randomUUID()}`;
    const r = await s.gql(`mutation($n: String!) { createPlan(input: { name: $n, price: 100 }) { id name } }`, { n: name }, admin);
    expect(r.errors).toBeUndefined();
    expect(r.data.createPlan.name).toBe(name);
    expect((await s.sql(`select name from plan where id = $1`, [r.data.createPlan.id]))[0].name).toBe(name);
  });

  test('over WebSocket: the operation gets BAD_USER_INPUT and the socket stays usable', async () => {
    await expectRefusedOverSocket('A\ud800');
  });
});

test('a variable holding a list of 200,000 strings is checked without overflowing the stack', () => {
  const document = parse(`query($l: [String!]) { plans { id } }`);
  expect(unstorableTextError(document, { l: Array.from({ length: 200_000 }, () => 'ok') })).toBeNull();
  expect(unstorableTextError(document, { l: [...Array.from({ length: 200_000 }, () => 'ok'), 'bad\ud800'] })?.extensions.code).toBe('BAD_USER_INPUT');
});

describe('variables the catalogue query does not declare', () => {
  test('deeply nested ones are ignored: 200 with the plans, not a 500 from building a cache key', async () => {
    for (const query of ['{ plans { id } }', '{ __typename }']) {
      const r = await postRaw(`{"query":${JSON.stringify(query)},"variables":{"junk":${nested(5000)}}}`);
      expect([query, r.status, r.json.errors]).toEqual([query, 200, undefined]);
    }
    expect(errorLines()).toEqual([]);
  });

  test('the answer cache key is a fixed-size hash of the declared variables only', () => {
    const op = (q: string) => parse(q).definitions[0] as OperationDefinitionNode;
    const plain = op(`{ plans { id } }`);
    const huge = { pad: 'x'.repeat(90_000) };
    const key = answerKey([1, 'default', false, 'h', null], plain, huge);
    expect(key).toBe(answerKey([1, 'default', false, 'h', null], plain, {}));
    expect(key!.length).toBe(createHash('sha256').digest('base64url').length);
    const withVar = op(`query($x: Boolean!) { plans @include(if: $x) { id } }`);
    expect(answerKey([1], withVar, { x: true })).not.toBe(answerKey([1], withVar, { x: false }));
  });
});

describe('persisted queries', () => {
  test('a hash that does not match its query, or an unknown version, is 400 BAD_REQUEST, not INTERNAL_SERVER_ERROR', async () => {
    const mismatch = await postRaw(JSON.stringify({ query: '{ plans { id } }', extensions: { persistedQuery: { version: 1, sha256Hash: 'deadbeef' } } }));
    expect([mismatch.status, mismatch.json.errors?.[0].extensions?.code]).toEqual([400, 'BAD_REQUEST']);
    expect(mismatch.json.errors?.[0].message).toMatch(/sha does not match/);
    const version = await postRaw(JSON.stringify({ query: '{ plans { id } }', extensions: { persistedQuery: { version: 2, sha256Hash: 'deadbeef' } } }));
    expect([version.status, version.json.errors?.[0].extensions?.code]).toEqual([400, 'BAD_REQUEST']);
    // Apollo's error hook logs before the answer is sent.
    expect(errorLines()).toEqual([]);
  });
});

describe('a DateTime PostgreSQL cannot store', () => {
  test('year 0000 is refused as input (a variable: BAD_USER_INPUT; a literal: a validation error, like any bad literal) and writes nothing; years 0001 and 9999 are accepted', async () => {
    const code = `Y0-${randomUUID().slice(0, 8)}`;
    const asVariable = await s.gql(`mutation($c: String!, $at: DateTime) { createCoupon(input: { code: $c, kind: FIXED, value: 1, startsAt: $at }) { id } }`, { c: code, at: '0000-01-01T00:00:00Z' }, admin);
    expect(codeOf(asVariable)).toBe('BAD_USER_INPUT');
    const asLiteral = await s.gql(`{ orders(filter: { createdAfter: "0000-01-01T00:00:00Z" }) { edges { cursor } } }`, {}, admin);
    expect(codeOf(asLiteral)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(await s.sql(`select 1 from coupon where code = $1`, [code.toUpperCase()])).toHaveLength(0);
    const edges = await s.gql(`{ orders(filter: { createdAfter: "0001-01-01T00:00:00Z", createdBefore: "9999-12-31T00:00:00Z" }) { edges { cursor } } }`, {}, admin);
    expect(edges.errors).toBeUndefined();
    expect(errorLines()).toEqual([]);
  });
});
