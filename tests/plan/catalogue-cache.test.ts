import { randomUUID } from 'node:crypto';
import { readTestEnv } from '../support/env';
import { startTestServer, token, type TestServer } from '../support/server';
import { until } from '../support/until';

/**
 * Listings are served from memory; these check that what a shopper sees still follows every change:
 * at once on the instance that made it, on the other instances through Redis, and after the configured
 * maximum age for a change nobody announced (a database edited by hand).
 */

const LIST = `{ plans { id name stockRemaining price { amount } upgrades { name } } }`;
type Listed = { id: string; name: string; stockRemaining: number | null; price: { amount: number }; upgrades: Array<{ name: string }> };

async function listing(s: TestServer, auth?: string): Promise<Listed[]> {
  const r = await s.gql<{ plans: Listed[] }>(LIST, {}, auth);
  expect(r.errors).toBeUndefined();
  return r.data!.plans;
}

const find = (plans: Listed[], id: string) => plans.find((p) => p.id === id);

async function mutate(s: TestServer, query: string, variables: Record<string, unknown>, auth: string): Promise<any> {
  const r = await s.gql(query, variables, auth);
  expect(r.errors).toBeUndefined();
  return r.data;
}

const CREATE_PLAN = `mutation($input: CreatePlanInput!) { createPlan(input: $input) { id } }`;
const UPDATE_PLAN = `mutation($id: ID!, $input: UpdatePlanInput!) { updatePlan(id: $id, input: $input) { id } }`;
const CREATE_ORDER = `mutation($input: CreateOrderInput!) { createOrder(input: $input) { id } }`;
const CANCEL_ORDER = `mutation($id: ID!) { cancelOrder(orderId: $id) { id status } }`;
const SET_GROUP = `mutation($c: ID!, $g: String!) { setCustomerGroup(customerId: $c, group: $g) { id group } }`;

async function createPlan(s: TestServer, admin: string, input: Record<string, unknown>): Promise<string> {
  return (await mutate(s, CREATE_PLAN, { input: { price: 1000, ...input } }, admin)).createPlan.id;
}

describe('one instance', () => {
  let s: TestServer;
  let admin: string;
  const queries: string[] = [];
  beforeAll(async () => {
    s = await startTestServer({ RUN_WORKER: 'false', CATALOGUE_MAX_AGE_SECONDS: '1' }, { app: { orm: { onQuery: (sql) => queries.push(sql) } } });
    admin = await token(`admin-${randomUUID()}`, 'admin');
  });
  afterAll(() => s.stop());

  test('a repeated listing, anonymous or with a token, is answered without a database query', async () => {
    await createPlan(s, admin, { name: `cached-${randomUUID()}`, upgrades: [{ name: 'Extra', price: 10 }] });
    const alice = await token(`alice-${randomUUID()}`);
    const first = { anonymous: await listing(s), alice: await listing(s, alice) };
    queries.length = 0;
    expect(await listing(s)).toEqual(first.anonymous);
    expect(await listing(s, alice)).toEqual(first.alice);
    expect(queries).toEqual([]);
  });

  test('a plan changed through the API shows in the next listing', async () => {
    const id = await createPlan(s, admin, { name: 'Before' });
    expect(find(await listing(s), id)?.name).toBe('Before');
    await mutate(s, UPDATE_PLAN, { id, input: { name: 'After', price: 1234 } }, admin);
    expect(find(await listing(s), id)).toMatchObject({ name: 'After', price: { amount: 1234 } });
    await mutate(s, UPDATE_PLAN, { id, input: { saleStatus: 'HIDDEN' } }, admin);
    expect(find(await listing(s), id)).toBeUndefined();
  });

  test('stock taken by an order and given back by its cancellation shows in the next listing', async () => {
    const id = await createPlan(s, admin, { name: `stock-${randomUUID()}`, stock: 2 });
    const bob = await token(`bob-${randomUUID()}`);
    expect(find(await listing(s, bob), id)?.stockRemaining).toBe(2);
    const order = (await mutate(s, CREATE_ORDER, { input: { planId: id } }, bob)).createOrder.id;
    expect(find(await listing(s, bob), id)?.stockRemaining).toBe(1);
    expect(find(await listing(s), id)?.stockRemaining).toBe(1);
    await mutate(s, CANCEL_ORDER, { id: order }, bob);
    expect(find(await listing(s, bob), id)?.stockRemaining).toBe(2);
  });

  test('a customer moved into a group sees its plans in the next listing', async () => {
    const group = `vip-${randomUUID().slice(0, 8)}`;
    const id = await createPlan(s, admin, { name: 'For the group', groups: [group] });
    const carol = `carol-${randomUUID()}`;
    const auth = await token(carol);
    expect(find(await listing(s, auth), id)).toBeUndefined();
    await mutate(s, SET_GROUP, { c: carol, g: group }, admin);
    expect(find(await listing(s, auth), id)?.name).toBe('For the group');
    expect(find(await listing(s), id)).toBeUndefined(); // anonymous callers still browse as `default`
  });

  test('a plan changed by hand in the database shows once CATALOGUE_MAX_AGE_SECONDS has passed', async () => {
    const id = await createPlan(s, admin, { name: 'By hand' });
    expect(find(await listing(s), id)?.name).toBe('By hand');
    await s.sql(`update plan set name = 'Edited by hand' where id = $1`, [id]);
    const changedAt = Date.now();
    await until('the listing to show the name edited by hand', async () => find(await listing(s), id)?.name === 'Edited by hand', 10_000);
    // Served from memory until then, but never longer than the configured second (plus a listing's own time).
    expect(Date.now() - changedAt).toBeLessThan(5_000);
  });

  test('a listing sent again gets the same body, status and content type as the first, whoever asks and however they accept', async () => {
    await createPlan(s, admin, { name: `again-${randomUUID()}`, upgrades: [{ name: 'Extra', price: 10 }] });
    const auth = await token(`erin-${randomUUID()}`);
    const post = async (headers: Record<string, string>, body: Record<string, unknown>) => {
      const r = await fetch(`${s.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
      return { status: r.status, type: r.headers.get('content-type'), body: await r.text() };
    };
    const asks: Array<[Record<string, string>, Record<string, unknown>]> = [
      [{}, { query: LIST }],
      [{ authorization: `Bearer ${auth}` }, { query: LIST }],
      [{ authorization: `Bearer ${auth}` }, { query: `query Browse ${LIST}`, operationName: 'Browse', variables: {} }],
      [{ authorization: `Bearer ${auth}`, accept: 'application/graphql-response+json' }, { query: LIST }],
    ];
    for (const [headers, body] of asks) {
      const first = await post(headers, body);
      expect(first.status).toBe(200);
      expect(JSON.parse(first.body).data.plans.length).toBeGreaterThan(0);
      expect(await post(headers, body)).toEqual(first);
      expect(await post(headers, body)).toEqual(first);
    }
    expect((await post({ accept: 'application/graphql-response+json' }, { query: LIST })).type).toMatch(/^application\/graphql-response\+json/);
    expect((await post({}, { query: LIST })).type).toBe('application/json; charset=utf-8');
    const refused = await post({ authorization: 'Bearer not-a-token' }, { query: LIST });
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.body).errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  test('a token that expires while its listing is kept is refused once past exp and the 5 s clock tolerance', async () => {
    const exp = Math.floor(Date.now() / 1000) + 2;
    const auth = await token(`frank-${randomUUID()}`, 'customer', { expiresIn: exp });
    const status = async () => (await s.gql(LIST, {}, auth)).status;
    expect(await status()).toBe(200);
    expect(await status()).toBe(200);
    await until('the expired token to be refused', async () => (await status()) === 401, 15_000, 100);
    // Accepted up to exp + 5 s (the tolerance), refused after it, whether or not the listing is kept.
    expect(Date.now()).toBeGreaterThan((exp + 5) * 1000);
    for (let i = 0; i < 5; i++) expect(await status()).toBe(401);
  });

  test("a customer's group changed by hand shows within CATALOGUE_MAX_AGE_SECONDS while they keep browsing", async () => {
    const group = `hand-${randomUUID().slice(0, 8)}`;
    const id = await createPlan(s, admin, { name: 'Hand-picked', groups: [group] });
    const dave = `dave-${randomUUID()}`;
    const auth = await token(dave);
    expect(find(await listing(s, auth), id)).toBeUndefined();
    await s.sql(`update customer set customer_group = $1 where id = $2`, [group, dave]);
    const changedAt = Date.now();
    // Listing all along: the remembered group is re-read in the background, never served past its age.
    await until('the listing to show the plan of the group set by hand', async () => find(await listing(s, auth), id) !== undefined, 10_000, 50);
    expect(Date.now() - changedAt).toBeLessThan(5_000);
    expect(find(await listing(s), id)).toBeUndefined();
  });
});

const redisUrl = readTestEnv().redisUrl;
const describeRedis = redisUrl ? describe : describe.skip;

describeRedis('two instances through Redis', () => {
  let a: TestServer;
  let b: TestServer;
  let admin: string;
  beforeAll(async () => {
    // An hour's maximum age: only the bus message can make instance A show B's changes within the test.
    const env = { REDIS_URL: redisUrl!, RUN_WORKER: 'false', CATALOGUE_MAX_AGE_SECONDS: '3600' };
    a = await startTestServer(env);
    b = await startTestServer(env, { databaseUrl: a.databaseUrl });
    admin = await token(`admin-${randomUUID()}`, 'admin');
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  test("a plan, its stock and a customer's group changed through one instance show in the other's listings", async () => {
    const group = `partners-${randomUUID().slice(0, 8)}`;
    const id = await createPlan(b, admin, { name: 'Shared', stock: 5 });
    const hidden = await createPlan(b, admin, { name: 'Partners only', groups: [group] });
    const dave = `dave-${randomUUID()}`;
    const auth = await token(dave);
    await until('instance A to list the plan created on B', async () => find(await listing(a, auth), id) !== undefined, 5_000);
    expect(find(await listing(a, auth), hidden)).toBeUndefined();

    await mutate(b, UPDATE_PLAN, { id, input: { name: 'Shared, renamed' } }, admin);
    await until('instance A to show the new name', async () => find(await listing(a), id)?.name === 'Shared, renamed', 5_000);

    await mutate(b, CREATE_ORDER, { input: { planId: id } }, auth);
    await until('instance A to show the stock one order took', async () => find(await listing(a, auth), id)?.stockRemaining === 4, 5_000);

    await mutate(b, SET_GROUP, { c: dave, g: group }, admin);
    await until('instance A to show the plan of the customer’s new group', async () => find(await listing(a, auth), hidden)?.name === 'Partners only', 5_000);
  });
});
