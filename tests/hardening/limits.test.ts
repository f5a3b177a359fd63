import { buildSchema, getIntrospectionQuery, graphqlSync, parse, type GraphQLSchema } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config';
import { complexityOf, DocumentCache, limitsOf } from '../../src/http/limits';
import { createSchema } from '../../src/schema';
import { readTestEnv } from '../support/env';
import { codeOf, startTestServer, token, type TestServer } from '../support/server';

const contract = buildSchema(readFileSync(path.join(__dirname, '..', '..', '..', 'shared', 'contract.graphql'), 'utf8'));
const defaults = limitsOf(loadConfig({ NODE_ENV: 'test' }));

/** `n` aliased copies of a small field. */
const aliased = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `p${i}: plans { id }`).join(' ')} }`;
/** A mutation operation of `n` aliased createPlan fields (each refused to a customer: FORBIDDEN once counted). */
const aliasedMutations = (n: number) => `mutation { ${Array.from({ length: n }, (_, i) => `m${i}: createPlan(input: { name: "x", price: 1 }) { id }`).join(' ')} }`;

/** A document of a few hundred bytes whose fragments expand to 2^levels copies of a plan's fields. */
function fragmentBomb(levels: number): string {
  const frags = [`fragment F0 on Plan { id name upgrades { id name price { amount currency } } }`];
  for (let i = 1; i <= levels; i++) frags.push(`fragment F${i} on Plan { ...F${i - 1} ...F${i - 1} }`);
  return `query Bomb { plans { ...F${levels} } } ${frags.join(' ')}`;
}

/** Posts a raw body to /graphql. */
async function post(s: TestServer, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${s.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, json, text, headers: res.headers };
}

/** Runs one operation over graphql-ws and returns its single result, or the errors it ended with. */
function overWs(client: Client, query: string, variables?: Record<string, unknown>): Promise<{ data?: any; errors?: any[] }> {
  return new Promise((resolve) => {
    let result: { data?: any; errors?: any[] } = {};
    client.subscribe(
      { query, variables },
      {
        next: (r) => (result = r as typeof result),
        error: (e) => resolve({ errors: Array.isArray(e) ? e : [e] }),
        complete: () => resolve(result),
      },
    );
  });
}

const normal = {
    myOrdersDeep: `query { myOrders(first: 100) { edges { cursor node { id number status plan { id name price { amount currency } upgrades { id name price { amount currency } } } upgrades { id name price { amount currency } } couponCode subtotal { amount currency } discount { amount currency } tax { amount currency } total { amount currency } createdAt expiresAt paidAt paymentMethod deliveredAt cancelledAt cancelReason delivery { id status attempts updatedAt completedAt } version } } pageInfo { hasNextPage endCursor } } }`,
    brief: `query { myOrders(first: 100) { edges { node { plan { upgrades { price { amount } } } } } } }`,
    wallet: `query { wallet { balance { amount currency } transactions(first: 100) { edges { cursor node { id amount { amount currency } kind orderId createdAt } } pageInfo { hasNextPage endCursor } } } }`,
    subscription: `subscription($id: ID!) { orderUpdated(orderId: $id) { id status version total { amount currency } delivery { status attempts } plan { name upgrades { name } } } }`,
    introspection: getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true }),
};

describe('the contract’s own operations pass the default limits', () => {
  test.each(Object.entries(normal))('%s', (_name, query) => {
    expect(new DocumentCache(contract, defaults).prepare(query, { id: randomUUID() }).errors).toBeUndefined();
  });

  test('complexity counts what would run: the deep page of 100 orders is within the default, 30 such pages are not', () => {
    const c = complexityOf(contract, parse(normal.myOrdersDeep));
    expect(c).toBeGreaterThan(100 * 40);
    expect(c).toBeLessThan(defaults.maxComplexity);
    expect(complexityOf(contract, parse(pages(30, 100)))).toBeGreaterThan(defaults.maxComplexity);
  });

  test('the defaults are depth 10, complexity 8000, 30 aliases', () => {
    expect(defaults).toEqual({ maxDepth: 10, maxComplexity: 8000, maxAliases: 30 });
  });
});

/** `n` aliased pages of `first` orders (no `first` when null), selecting `selection` of each. */
const pages = (n: number, first: number | null | string, selection = 'edges { node { id } }') =>
  `{ ${Array.from({ length: n }, (_, i) => `o${i}: myOrders${first === null ? '' : `(first: ${first})`} { ${selection} }`).join(' ')} }`;

describe('complexity counts a list’s selection once per item it may return', () => {
  const cost = (query: string, variables?: Record<string, unknown>, schema = contract) => complexityOf(schema, parse(query), variables);

  test('a page of 100 costs about ten pages of 10; an omitted `first` counts as the default page of 20', () => {
    const p100 = cost(pages(1, 100));
    expect(p100).toBeGreaterThan(9 * cost(pages(1, 10)));
    expect(cost(pages(1, null))).toBe(cost(pages(1, 20)));
    expect(cost(`{ wallet { transactions(first: 100) { edges { node { id } } } } }`)).toBeGreaterThan(9 * cost(`{ wallet { transactions(first: 10) { edges { node { id } } } } }`));
  });

  test('`first` given by a variable counts as its value', () => {
    const q = `query($n: Int) { myOrders(first: $n) { edges { node { id } } } }`;
    expect(cost(q, { n: 100 })).toBe(cost(pages(1, 100)));
    expect(cost(q, { n: 5 })).toBe(cost(pages(1, 5)));
  });

  test('one parsed document counts anew for each page size and condition, and alike for any order id', () => {
    const paged = parse(`query($n: Int, $deep: Boolean!, $status: OrderStatus) { myOrders(first: $n, status: $status) { edges { node { id plan @include(if: $deep) { name } } } } }`);
    const at = (variables: Record<string, unknown>) => complexityOf(contract, paged, variables);
    const small = at({ n: 5, deep: false });
    expect(at({ n: 100, deep: false })).toBeGreaterThan(10 * small);
    expect(at({ n: 5, deep: true })).toBeGreaterThan(small);
    expect(at({ n: 5, deep: false, status: 'PAID' })).toBe(small);
    expect(at({ n: 5, deep: false })).toBe(small);
    // A variable left out takes its default; one given as null does not: counted apart, in either order.
    const defaulted = parse(`query($n: Int = 100) { myOrders(first: $n) { edges { node { id } } } }`);
    expect(complexityOf(contract, defaulted, { n: null })).toBe(cost(pages(1, null)));
    expect(complexityOf(contract, defaulted, {})).toBe(cost(pages(1, 100)));
    const cancel = parse(`mutation($id: ID!) { cancelOrder(orderId: $id) { id status } }`);
    expect(complexityOf(contract, cancel, { id: 'a' })).toBe(complexityOf(contract, cancel, { id: 'b' }));
  });

  test('a page read for its pageInfo alone still costs its rows', () => {
    expect(cost(pages(1, 100, 'pageInfo { hasNextPage }'))).toBeGreaterThan(100);
    expect(cost(pages(30, 100, 'pageInfo { hasNextPage }'))).toBeGreaterThan(defaults.maxComplexity);
  });

  test('a `first` beyond the largest page counts as the largest page (its resolver refuses it as BAD_USER_INPUT)', () => {
    expect(cost(pages(1, 100000))).toBe(cost(pages(1, 100)));
  });

  test('a root list without `first` counts as a default page; any field with `first` multiplies, by its declared default when omitted', () => {
    const deliveries = `{ myDeliveries { id number status plan { name } } }`;
    expect(cost(deliveries)).toBeGreaterThan(20 * 5);
    // The same generic rule once the field takes `first` (here declared with a default of 50).
    const paged = buildSchema(
      readFileSync(path.join(__dirname, '..', '..', '..', 'shared', 'contract.graphql'), 'utf8').replace(
        'myDeliveries(status: DeliveryStatus)',
        'myDeliveries(status: DeliveryStatus, first: Int = 50)',
      ),
    );
    expect(cost(deliveries, {}, paged)).toBe(cost(`{ myDeliveries(first: 50) { id number status plan { name } } }`, {}, paged));
    expect(cost(`{ myDeliveries(first: 100) { id } }`, {}, paged)).toBeGreaterThan(2 * cost(`{ myDeliveries { id } }`, {}, paged) - 5);
    expect(cost(`{ myDeliveries(first: 10) { id } }`, {}, paged)).toBeLessThan(cost(`{ myDeliveries { id } }`, {}, paged));
  });

  test('lists whose resolver applies a default of its own count it: a provider’s 50 deliveries, an admin’s 200 failed gateway events', async () => {
    const api = await createSchema();
    const apiCost = (query: string) => complexityOf(api, parse(query));
    expect(apiCost(`{ myDeliveries { id number plan { name } } }`)).toBe(apiCost(`{ myDeliveries(first: 50) { id number plan { name } } }`));
    expect(apiCost(`{ myDeliveries { id } }`)).toBeGreaterThan(50 * 2);
    expect(apiCost(`{ myDeliveries(first: 100) { id } }`)).toBeGreaterThan(apiCost(`{ myDeliveries { id } }`));
    const failed = apiCost(`{ failedWebhookEvents { id type error } }`);
    expect(failed).toBeGreaterThanOrEqual(200 * 4);
    // Eleven copies pass the default limit (at a default page of 20 they cost some 900).
    const copies = Math.ceil(defaults.maxComplexity / failed) + 1;
    const many = `{ ${Array.from({ length: copies }, (_, i) => `f${i}: failedWebhookEvents { id type error }`).join(' ')} }`;
    expect(apiCost(many)).toBeGreaterThan(defaults.maxComplexity);
  });
});

/** One walk of the whole schema: every type with its fields, their arguments and types, input fields and enum values. */
const schemaWalk = `__schema { types { name kind description fields(includeDeprecated: true) { name description args { name description type { name kind ofType { name kind ofType { name kind ofType { name } } } } } type { name kind ofType { name kind ofType { name kind ofType { name } } } } } inputFields { name type { name kind ofType { name kind } } } enumValues(includeDeprecated: true) { name description } } }`;
/** `n` aliased walks of the whole schema: about 12 KB for 30, answered with 1.8 MB when run. */
const schemaWalks = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${schemaWalk}`).join(' ')} }`;
/** A walk from one type through its fields' types to theirs (as deep as graphql-js's own introspection rule allows). */
const typeWalk = (name: string) =>
  `__type(name: ${name}) { fields(includeDeprecated: true) { name description args { name description defaultValue type { name kind ofType { name kind ofType { name kind inputFields { name description type { name kind ofType { name kind } } } } } } } type { name kind ofType { name kind ofType { name kind fields(includeDeprecated: true) { name description args { name description type { name kind } } type { name kind ofType { name kind } } } } } } } }`;
/** The introspection query of GraphiQL and Apollo Sandbox, with every option graphql-js offers. */
const ideIntrospection = getIntrospectionQuery({
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
  experimentalDirectiveDeprecation: true,
  oneOf: true,
});

describe('introspection counts what it answers on this schema', () => {
  let api: GraphQLSchema;
  beforeAll(async () => {
    api = await createSchema();
  });
  /** Fields and items of object lists in an answer: what the count must not fall short of. */
  const answered = (value: unknown): number => {
    if (Array.isArray(value)) return value.reduce<number>((n, v) => n + (v !== null && typeof v === 'object' ? 1 + answered(v) : 0), 0);
    if (value === null || typeof value !== 'object') return 0;
    return Object.values(value).reduce<number>((n, v) => n + 1 + answered(v), 0);
  };
  const refusal = (query: string, variables?: Record<string, unknown>) => new DocumentCache(api, defaults).prepare(query, variables).errors?.[0];

  test('what tools send, one full introspection with a few `__type` lookups, fits the default limit and counts no less than it answers', () => {
    const lookups = `s: __type(name: "__Schema") { fields { name } } d: __type(name: "__Directive") { fields { name args { name } } } v: __type(name: "__InputValue") { fields { name } }`;
    for (const query of [getIntrospectionQuery(), ideIntrospection, ideIntrospection.replace('__schema {', `${lookups} __schema {`)]) {
      const cost = complexityOf(api, parse(query));
      const { data, errors } = graphqlSync({ schema: api, source: query });
      expect(errors).toBeUndefined();
      expect(cost).toBeGreaterThanOrEqual(answered(data));
      expect(cost).toBeLessThanOrEqual(defaults.maxComplexity);
      expect(refusal(query)).toBeUndefined();
    }
  });

  test('30 aliased walks of the whole schema are refused as too complex before running', () => {
    const query = schemaWalks(30);
    expect(query.length).toBeLessThan(13_000);
    expect(refusal(query)).toMatchObject({ message: expect.stringMatching(/too complex: at most 8000/), extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    // Counted by what they answer: three walks are already over the limit, with their figure.
    expect(refusal(schemaWalks(3))?.extensions).toMatchObject({ complexity: expect.any(Number), maxComplexity: 8000 });
    expect(refusal(schemaWalks(3))?.extensions?.complexity).toBeGreaterThan(defaults.maxComplexity);
  });

  test('one `__schema` whose `types` are aliased many times is refused like as many walks', () => {
    const query = `{ __schema { ${Array.from({ length: 30 }, (_, i) => `t${i}: types { name fields { name type { name kind } } }`).join(' ')} } }`;
    expect(refusal(query)?.message).toMatch(/too complex/);
  });

  test('a deep `__type(name:)` walk passes alone, aliased 30 times it is refused', () => {
    const one = `{ ${typeWalk('"Query"')} }`;
    expect(refusal(one)).toBeUndefined();
    expect(complexityOf(api, parse(one))).toBeGreaterThanOrEqual(answered(graphqlSync({ schema: api, source: one }).data));
    const thirty = `{ ${Array.from({ length: 30 }, (_, i) => `t${i}: ${typeWalk('"Query"')}`).join(' ')} }`;
    expect(refusal(thirty)?.message).toMatch(/too complex/);
  });

  test('`__schema` reached through fragments and inline fragments counts at each spread', () => {
    const walks = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}: __schema { ...Walk }`).join(' ');
    const spread = `{ ...A ... on Query { ${walks('b', 10)} } ...C }
      fragment A on Query { ${walks('a', 10)} }
      fragment C on Query { ... on Query { ${walks('c', 10)} } }
      fragment Walk on __Schema { ${schemaWalk.slice('__schema { '.length, -2)} }`;
    expect(refusal(spread)?.message).toMatch(/too complex/);
    // One walk costs the same written out or spread.
    expect(complexityOf(api, parse(`{ ...W } fragment W on Query { __schema { ...Walk } } fragment Walk on __Schema { ${schemaWalk.slice('__schema { '.length, -2)} }`))).toBe(
      complexityOf(api, parse(`{ ${schemaWalk} }`)),
    );
  });

  test('a `__type` named by a variable counts as though it named every type, so one parsed document cannot pass small and run large', () => {
    const query = parse(`query($n: String!) { ${Array.from({ length: 30 }, (_, i) => `t${i}: ${typeWalk('$n')}`).join(' ')} }`);
    const cache = new DocumentCache(api, defaults);
    expect(cache.prepare(query, { n: 'NoSuchType' }).errors?.[0].message).toMatch(/too complex/);
    expect(cache.prepare(query, { n: 'Query' }).errors?.[0].message).toMatch(/too complex/);
    const single = `query($n: String!) { __type(name: $n) { name fields { name } } }`;
    expect(complexityOf(api, parse(single), { n: 'NoSuchType' })).toBeGreaterThanOrEqual(complexityOf(api, parse(`{ __type(name: "Query") { name fields { name } } }`)));
    expect(refusal(single, { n: 'Order' })).toBeUndefined();
  });
});

describe('over HTTP', () => {
  let s: TestServer;
  let shallow: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ MUTATION_RATE_LIMIT: '3', RATE_LIMIT_WINDOW_SECONDS: '60', BODY_LIMIT_BYTES: '4096' });
    shallow = await startTestServer({ MAX_QUERY_DEPTH: '2' }, { databaseUrl: s.databaseUrl });
  });
  afterAll(async () => {
    await shallow?.stop();
    await s?.stop();
  });

  test('a query deeper than MAX_QUERY_DEPTH is refused before running (400, GRAPHQL_VALIDATION_FAILED)', async () => {
    const deep = await shallow.gql(`query Deep { plans { upgrades { price { amount } } } }`);
    expect(deep.status).toBe(400);
    expect(codeOf(deep)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(deep.errors?.[0].message).toMatch(/depth of 2/);
    expect(deep.data ?? null).toBeNull();
    const ok = await shallow.gql(`query Ok { plans { upgrades { name } } }`);
    expect(ok.status).toBe(200);
    expect(ok.errors).toBeUndefined();
  });

  test('the contract’s deepest normal queries run on the real server with the default limits', async () => {
    const t = await token(`cust-${randomUUID()}`);
    for (const [name, query] of Object.entries(normal).filter(([n]) => n !== 'subscription')) {
      const r = await s.gql(query, {}, t);
      expect([name, r.status, r.errors]).toEqual([name, 200, undefined]);
    }
  });

  test('the IDE’s introspection query is not counted as depth', async () => {
    const r = await shallow.gql(getIntrospectionQuery());
    expect(r.errors).toBeUndefined();
    expect(r.data.__schema.queryType.name).toBe('Query');
  });

  test('a fragment bomb is refused by complexity, not executed', async () => {
    const query = fragmentBomb(9);
    expect(query.length).toBeLessThan(1500);
    const r = await s.gql(query);
    expect(r.status).toBe(400);
    expect(codeOf(r)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(r.errors?.[0].message).toMatch(new RegExp(`too complex: at most ${defaults.maxComplexity}`));
    expect(r.errors?.[0].extensions?.complexity).toBeGreaterThan(defaults.maxComplexity);
    expect(r.data ?? null).toBeNull();
  });

  test('30 aliased pages of 100 orders are refused before running (400, too complex); 15 pages of 20 run', async () => {
    const t = await token(`cust-${randomUUID()}`);
    for (const selection of ['edges { node { id } }', 'pageInfo { hasNextPage }']) {
      const r = await s.gql(pages(30, 100, selection), {}, t);
      expect([r.status, codeOf(r)]).toEqual([400, 'GRAPHQL_VALIDATION_FAILED']);
      expect(r.errors?.[0].message).toMatch(/too complex/);
      expect(r.data ?? null).toBeNull();
    }
    const fine = await s.gql(pages(15, 20), {}, t);
    expect([fine.status, fine.errors]).toEqual([200, undefined]);
    // Any list with `first` on the schema this server runs: a provider's deliveries too.
    const deliveries = await s.gql(`{ ${Array.from({ length: 30 }, (_, i) => `d${i}: myDeliveries(first: 100) { id number status }`).join(' ')} }`, {}, t);
    expect([deliveries.status, codeOf(deliveries)]).toEqual([400, 'GRAPHQL_VALIDATION_FAILED']);
    // The same through a variable.
    const q = `query($n: Int) { ${Array.from({ length: 30 }, (_, i) => `o${i}: myOrders(first: $n) { edges { node { id } } }`).join(' ')} }`;
    expect(codeOf(await s.gql(q, { n: 100 }, t))).toBe('GRAPHQL_VALIDATION_FAILED');
    expect((await s.gql(q, { n: 2 }, t)).errors).toBeUndefined();
  });

  test('a `first` out of range is the resolver’s BAD_USER_INPUT, not a complexity refusal', async () => {
    const r = await s.gql(`{ myOrders(first: 100000) { edges { node { id } } } }`, {}, await token(`cust-${randomUUID()}`));
    expect(codeOf(r)).toBe('BAD_USER_INPUT');
  });

  test('depth is counted through fragments; a document with an unknown fragment is refused by the spec’s rule', async () => {
    const deep = await shallow.gql(`query Deep { plans { ...U } } fragment U on Plan { upgrades { price { amount } } }`);
    expect([deep.status, codeOf(deep)]).toEqual([400, 'GRAPHQL_VALIDATION_FAILED']);
    expect(deep.errors?.[0].message).toMatch(/depth of 2/);
    const unknown = await shallow.gql(`query Deep { plans { upgrades { price { amount } } ...Nope } }`);
    expect([unknown.status, codeOf(unknown)]).toEqual([400, 'GRAPHQL_VALIDATION_FAILED']);
    expect(unknown.errors?.map((e) => e.message).join('\n')).toMatch(/Unknown fragment "Nope"/);
  });

  test('30 aliases pass, 31 are refused', async () => {
    const ok = await s.gql(aliased(30));
    expect(ok.errors).toBeUndefined();
    expect(Object.keys(ok.data)).toHaveLength(30);
    const tooMany = await s.gql(aliased(31));
    expect(tooMany.status).toBe(400);
    expect(codeOf(tooMany)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(tooMany.errors?.[0].message).toMatch(/more than 30 aliases/);
  });

  test('batched HTTP requests are refused (400 BAD_REQUEST), nothing of the batch runs', async () => {
    const admin = await token(`admin-${randomUUID()}`, 'admin');
    const name = `batched-${randomUUID()}`;
    const create = { query: `mutation($i: CreatePlanInput!) { createPlan(input: $i) { id } }`, variables: { i: { name, price: 100 } } };
    const r = await post(s, JSON.stringify([create, create]), { authorization: `Bearer ${admin}` });
    expect(r.status).toBe(400);
    expect(r.json?.errors?.[0]?.extensions?.code ?? r.text).toMatch(/BAD_REQUEST|batch/i);
    expect(await s.sql(`select 1 from plan where name = $1`, [name])).toHaveLength(0);
  });

  test('a body over BODY_LIMIT_BYTES gets 413 and is not parsed', async () => {
    const big = JSON.stringify({ query: `{ plans { id } }`, variables: { pad: 'x'.repeat(5000) } });
    const r = await post(s, big);
    expect(r.status).toBe(413);
    const small = await post(s, JSON.stringify({ query: `{ plans { id } }`, variables: { pad: 'x'.repeat(3000) } }));
    expect(small.status).toBe(200);
  });

  test('mutations are rate-limited per caller: the 4th within the window is RATE_LIMITED (429) with limit and window', async () => {
    const caller = await token(`cust-${randomUUID()}`);
    const other = await token(`cust-${randomUUID()}`);
    const m = `mutation { createPlan(input: { name: "x", price: 1 }) { id } }`;
    for (let i = 0; i < 3; i++) expect(codeOf(await s.gql(m, {}, caller))).toBe('FORBIDDEN');
    const limited = await s.gql(m, {}, caller);
    expect(limited.status).toBe(429);
    expect(codeOf(limited)).toBe('RATE_LIMITED');
    expect(limited.errors?.[0].extensions).toMatchObject({ limit: 3, window: 60 });
    expect(limited.errors?.[0].extensions?.retryAfterSeconds).toBeGreaterThan(0);
    // Queries are not counted, and another caller has its own allowance.
    expect((await s.gql(`{ me { id } }`, {}, caller)).errors).toBeUndefined();
    expect(codeOf(await s.gql(m, {}, other))).toBe('FORBIDDEN');
  });

  test('each aliased mutation of one operation counts: three run, a fourth in the same window is refused, fragments included', async () => {
    const caller = await token(`cust-${randomUUID()}`);
    const three = `mutation { a: createPlan(input: { name: "x", price: 1 }) { id } b: createPlan(input: { name: "x", price: 1 }) { id } ...more }
                   fragment more on Mutation { c: createPlan(input: { name: "x", price: 1 }) { id } }`;
    const ran = await s.gql(three, {}, caller);
    // Run (each refused to a customer; mutations run in turn and the first refusal ends the operation).
    expect(codeOf(ran)).toBe('FORBIDDEN');
    const limited = await s.gql(`mutation { createPlan(input: { name: "x", price: 1 }) { id } }`, {}, caller);
    expect(limited.status).toBe(429);
    expect(codeOf(limited)).toBe('RATE_LIMITED');
    // Thirty at once from a fresh caller: past the allowance of three, refused whole, nothing runs.
    const refused = await s.gql(aliasedMutations(30), {}, await token(`cust-${randomUUID()}`));
    expect(refused.status).toBe(429);
    expect(refused.errors?.map((e) => e.extensions?.code)).toEqual(['RATE_LIMITED']);
  });

  test('an operation whose mutations do not all fit is refused whole and spends nothing: what was left still serves those that fit', async () => {
    const caller = await token(`cust-${randomUUID()}`);
    // One spent; two left: three at once do not fit.
    expect(codeOf(await s.gql(aliasedMutations(1), {}, caller))).toBe('FORBIDDEN');
    const refused = await s.gql(aliasedMutations(3), {}, caller);
    expect(refused.status).toBe(429);
    expect(refused.errors?.map((e) => e.extensions?.code)).toEqual(['RATE_LIMITED']);
    // The two left run together, and then the window is spent.
    expect(codeOf(await s.gql(aliasedMutations(2), {}, caller))).toBe('FORBIDDEN');
    expect(codeOf(await s.gql(aliasedMutations(1), {}, caller))).toBe('RATE_LIMITED');
  });

  describe('over WebSocket the same limits apply', () => {
    let client: Client;
    let sub: string;
    beforeAll(async () => {
      sub = `cust-${randomUUID()}`;
      const t = await token(sub);
      client = createClient({ url: s.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${t}` }, retryAttempts: 0, lazy: true });
    });
    afterAll(() => client?.dispose());

    test('an ordinary query runs', async () => {
      const r = await overWs(client, `{ me { id } }`);
      expect(r.errors).toBeUndefined();
      expect(r.data.me.id).toBe(sub);
    });

    test('30 aliased pages of 100 orders are refused as too complex, 15 pages of 20 run', async () => {
      const refused = await overWs(client, pages(30, 100));
      expect(refused.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(refused.errors?.[0].message).toMatch(/too complex/);
      const fine = await overWs(client, pages(15, 20));
      expect(fine.errors).toBeUndefined();
      expect(Object.keys(fine.data)).toHaveLength(15);
    });

    test('too many aliases and a fragment bomb are refused with GRAPHQL_VALIDATION_FAILED', async () => {
      const aliases = await overWs(client, aliased(31));
      expect(aliases.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      const bomb = await overWs(client, fragmentBomb(9));
      expect(bomb.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(bomb.errors?.[0].message).toMatch(/too complex/);
    });

    test('an unknown field and a syntax error carry Apollo’s codes, not INTERNAL_SERVER_ERROR', async () => {
      expect((await overWs(client, `{ nope }`)).errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect((await overWs(client, `{ me { `)).errors?.[0].extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    });

    test('mutations over the socket count toward the same allowance', async () => {
      const m = `mutation { createPlan(input: { name: "x", price: 1 }) { id } }`;
      const codes: string[] = [];
      for (let i = 0; i < 4; i++) codes.push((await overWs(client, m)).errors?.[0].extensions?.code);
      expect(codes).toEqual(['FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN', 'RATE_LIMITED']);
      // HTTP sees the same spent allowance.
      expect(codeOf(await s.gql(m, {}, await token(sub)))).toBe('RATE_LIMITED');
    });

    test('over the socket too each aliased mutation counts', async () => {
      const t = await token(`cust-${randomUUID()}`);
      const mine = createClient({ url: s.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${t}` }, retryAttempts: 0, lazy: true });
      try {
        const four = `mutation { ${['a', 'b', 'c', 'd'].map((k) => `${k}: createPlan(input: { name: "x", price: 1 }) { id }`).join(' ')} }`;
        expect((await overWs(mine, four)).errors?.map((e) => e.extensions?.code)).toEqual(['RATE_LIMITED']);
      } finally {
        await mine.dispose();
      }
    });
  });
});

describe('with Redis the mutation allowance holds across instances', () => {
  const redisUrl = readTestEnv().redisUrl;
  const run = redisUrl ? test : test.skip;
  /** Runs `check` against two instances sharing Redis, with an allowance of `limit` mutations a minute. */
  const onTwoInstances = async (limit: number, check: (a: TestServer, b: TestServer) => Promise<void>) => {
    const env = { REDIS_URL: redisUrl!, MUTATION_RATE_LIMIT: String(limit), RATE_LIMIT_WINDOW_SECONDS: '60' };
    const a = await startTestServer(env);
    const b = await startTestServer(env, { databaseUrl: a.databaseUrl });
    try {
      await check(a, b);
    } finally {
      await b.stop();
      await a.stop();
    }
  };

  run('two instances share one counter', () =>
    onTwoInstances(4, async (a, b) => {
      const caller = await token(`cust-${randomUUID()}`);
      const m = `mutation { createPlan(input: { name: "x", price: 1 }) { id } }`;
      const codes: Array<string | undefined> = [];
      for (const srv of [a, b, a, b, a, b]) codes.push(codeOf(await srv.gql(m, {}, caller)));
      expect(codes).toEqual(['FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN', 'RATE_LIMITED', 'RATE_LIMITED']);
    }));

  run("an operation's mutations are counted together on either instance: one that does not fit spends nothing, and the allowance is served exactly", () =>
    onTwoInstances(4, async (a, b) => {
      const caller = await token(`cust-${randomUUID()}`);
      // More than the whole allowance at once: refused on either instance, nothing spent.
      expect(codeOf(await a.gql(aliasedMutations(5), {}, caller))).toBe('RATE_LIMITED');
      expect(codeOf(await b.gql(aliasedMutations(5), {}, caller))).toBe('RATE_LIMITED');
      // Three on one instance, then two on the other: one is left, so the two are refused whole ...
      expect(codeOf(await a.gql(aliasedMutations(3), {}, caller))).toBe('FORBIDDEN');
      expect(codeOf(await b.gql(aliasedMutations(2), {}, caller))).toBe('RATE_LIMITED');
      // ... and that one still runs, after which the allowance of four is spent everywhere.
      expect(codeOf(await b.gql(aliasedMutations(1), {}, caller))).toBe('FORBIDDEN');
      expect(codeOf(await a.gql(aliasedMutations(1), {}, caller))).toBe('RATE_LIMITED');
      expect(codeOf(await b.gql(aliasedMutations(1), {}, caller))).toBe('RATE_LIMITED');

      // Operations of three racing on both instances for an allowance of four: exactly one runs.
      const racer = await token(`cust-${randomUUID()}`);
      const raced = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).gql(aliasedMutations(3), {}, racer).then(codeOf)));
      expect(raced.filter((c) => c !== 'FORBIDDEN' && c !== 'RATE_LIMITED')).toEqual([]);
      expect(raced.filter((c) => c === 'FORBIDDEN')).toHaveLength(1);
    }));

  run('a larger allowance, spent on one instance then racing on two: exactly the allowance on one, never more than it on two', () =>
    onTwoInstances(100, async (a, b) => {
      const m = `mutation { createPlan(input: { name: "x", price: 1 }) { id } }`;
      const one = await token(`cust-${randomUUID()}`);
      const alone: Array<string | undefined> = [];
      for (let i = 0; i < 101; i++) alone.push(codeOf(await a.gql(m, {}, one)));
      expect(alone).toEqual([...Array<string>(100).fill('FORBIDDEN'), 'RATE_LIMITED']);
      // The allowance spent, the other instance refuses too.
      expect(codeOf(await b.gql(m, {}, one))).toBe('RATE_LIMITED');

      const two = await token(`cust-${randomUUID()}`);
      const raced = await Promise.all(Array.from({ length: 160 }, (_, i) => (i % 2 ? a : b).gql(m, {}, two).then(codeOf)));
      const served = raced.filter((c) => c === 'FORBIDDEN').length;
      expect(raced.filter((c) => c !== 'FORBIDDEN' && c !== 'RATE_LIMITED')).toEqual([]);
      expect(served).toBeLessThanOrEqual(100);
      // Points one instance leased and the caller spent on the other are lost with the window: a few at most.
      expect(served).toBeGreaterThanOrEqual(90);
    }));
});

describe('introspection under the default limits, over HTTP and WebSocket', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(() => s?.stop());

  test('30 aliased walks of the whole schema sent with no token are refused (400, too complex), not answered with megabytes; the IDE’s introspection runs', async () => {
    const r = await post(s, JSON.stringify({ query: schemaWalks(30) }));
    expect({ status: r.status, bytes: r.text.length < 10_000 ? 'small' : 'over 10 KB', code: r.json?.errors?.[0]?.extensions?.code, answered: r.json?.data != null }).toEqual({
      status: 400,
      bytes: 'small',
      code: 'GRAPHQL_VALIDATION_FAILED',
      answered: false,
    });
    expect(r.json.errors[0].message).toMatch(/too complex: at most 8000/);
    const ide = await s.gql(ideIntrospection);
    expect([ide.status, ide.errors]).toEqual([200, undefined]);
    expect(ide.data.__schema.queryType.name).toBe('Query');
  });

  test('over the WebSocket alike: the 30 walks are refused, the IDE’s introspection runs', async () => {
    const client = createClient({ url: s.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${await token(`cust-${randomUUID()}`)}` }, retryAttempts: 0, lazy: true });
    try {
      const refused = await overWs(client, schemaWalks(30));
      expect(refused.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(refused.errors?.[0].message).toMatch(/too complex/);
      expect(refused.data == null).toBe(true);
      const ide = await overWs(client, ideIntrospection);
      expect(ide.errors).toBeUndefined();
      expect(ide.data.__schema.queryType.name).toBe('Query');
    } finally {
      await client.dispose();
    }
  });
});

describe('GRAPHQL_INTROSPECTION=false', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ GRAPHQL_INTROSPECTION: 'false' });
  });
  afterAll(() => s?.stop());

  test('introspection is refused and the IDE page is not served', async () => {
    const r = await s.gql(`{ __schema { queryType { name } } }`);
    expect(codeOf(r)).toBe('GRAPHQL_VALIDATION_FAILED');
    const page = await fetch(`${s.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toMatch(/graphiql/i);
    // Ordinary operations still work.
    expect((await s.gql(`{ plans { id } }`)).errors).toBeUndefined();
  });

  test('over WebSocket too: introspection is refused, ordinary queries run', async () => {
    const client = createClient({ url: s.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${await token(`cust-${randomUUID()}`)}` }, retryAttempts: 0, lazy: true });
    try {
      const refused = await overWs(client, `{ __schema { queryType { name } } }`);
      expect(refused.data ?? null).toBeNull();
      expect(refused.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect((await overWs(client, `{ __type(name: "Order") { name } }`)).errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect((await overWs(client, `{ plans { id __typename } }`)).errors).toBeUndefined();
    } finally {
      await client.dispose();
    }
  });
});
