import { SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import { CancelOrderDocument, MeDocument } from '../__generated__/graphql';
import { createOrder, createPlan } from '../support/orders';
import { codeOf, startTestServer, TEST_SECRET, token, type GqlResult, type TestServer } from '../support/server';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.stop());

const secret = new TextEncoder().encode(TEST_SECRET);
const now = () => Math.floor(Date.now() / 1000);
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

/** A refused caller: UNAUTHENTICATED, HTTP 401, and no data at all. */
function expectRefused(r: GqlResult) {
  expect(codeOf(r)).toBe('UNAUTHENTICATED');
  expect(r.status).toBe(401);
  expect(r.data ?? null).toBeNull();
  expect(r.errors).toHaveLength(1);
}

test('a valid HS256 token identifies the caller', async () => {
  const sub = `cust-${randomUUID()}`;
  const r = await s.gql(MeDocument, {}, await token(sub));
  expect(r.errors).toBeUndefined();
  expect(r.data?.me).toEqual({ id: sub, group: 'default', role: 'customer' });
});

test('a subject of 64 characters is accepted, 65 is not', async () => {
  const ok = `c${randomUUID().replace(/-/g, '')}`.padEnd(64, 'x');
  expect((await s.gql(MeDocument, {}, await token(ok))).data?.me.id).toBe(ok);
  expectRefused(await s.gql(MeDocument, {}, await token(`${ok}y`)));
});

test('no token: me is UNAUTHENTICATED', async () => {
  const r = await s.gql(MeDocument, {}, null);
  expect(codeOf(r)).toBe('UNAUTHENTICATED');
});

describe('refused tokens', () => {
  const sub = () => `cust-${randomUUID()}`;
  test('expired', async () => {
    const t = await new SignJWT({ role: 'customer' }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub()).setIssuedAt(now() - 7200).setExpirationTime(now() - 3600).sign(secret);
    expectRefused(await s.gql(MeDocument, {}, t));
  });

  test('not yet valid (nbf in the future)', async () => {
    const t = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub()).setNotBefore(now() + 3600).setExpirationTime(now() + 7200).sign(secret);
    expectRefused(await s.gql(MeDocument, {}, t));
  });

  test('signed with another secret', async () => {
    expectRefused(await s.gql(MeDocument, {}, await token(sub(), 'admin', { secret: 'another-secret-0123456789-abcdef' })));
  });

  test('alg: none', async () => {
    const t = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: sub(), role: 'admin', exp: now() + 3600 })}.`;
    expectRefused(await s.gql(MeDocument, {}, t));
  });

  test('a 10 kB subject', async () => {
    expectRefused(await s.gql(MeDocument, {}, await token('x'.repeat(10 * 1024))));
  });

  test('an unknown role', async () => {
    const t = await new SignJWT({ role: 'superuser' }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub()).setExpirationTime('1h').sign(secret);
    expectRefused(await s.gql(MeDocument, {}, t));
  });

  test('garbage and a tampered payload', async () => {
    expectRefused(await s.gql(MeDocument, {}, 'not-a-jwt'));
    const [h, , sig] = (await token(sub())).split('.');
    expectRefused(await s.gql(MeDocument, {}, `${h}.${b64({ sub: 'someone-else', role: 'admin', exp: now() + 3600 })}.${sig}`));
  });

  test('a bad token is refused even on the anonymous catalogue', async () => {
    const r = await s.gql('{ plans { id } }', {}, 'not-a-jwt');
    expectRefused(r);
  });

  test('a refused token creates no customer', async () => {
    const id = `cust-${randomUUID()}`;
    await s.gql(MeDocument, {}, await token(id, 'customer', { secret: 'another-secret-0123456789-abcdef' }));
    expect(await s.sql('select 1 from customer where id = $1', [id])).toHaveLength(0);
  });
});

describe('customers', () => {
  test('a customer row is created on first authenticated use, in group default', async () => {
    const id = `cust-${randomUUID()}`;
    expect(await s.sql('select 1 from customer where id = $1', [id])).toHaveLength(0);
    await s.gql(MeDocument, {}, await token(id, 'provider'));
    const rows = await s.sql('select customer_group, role, unpaid_orders from customer where id = $1', [id]);
    expect(rows).toEqual([{ customer_group: 'default', role: 'provider', unpaid_orders: 0 }]);
  });

  test('20 simultaneous first requests of one new subject create exactly one row', async () => {
    const id = `cust-${randomUUID()}`;
    const t = await token(id);
    const results = await Promise.all(Array.from({ length: 20 }, () => s.gql(MeDocument, {}, t)));
    for (const r of results) {
      expect(r.errors).toBeUndefined();
      expect(r.data?.me).toEqual({ id, group: 'default', role: 'customer' });
    }
    expect(await s.sql('select count(*)::int as n from customer where id = $1', [id])).toEqual([{ n: 1 }]);
  });

  test('a cancel as first request creates the row; a cancel with a new role stores it', async () => {
    const first = `cust-${randomUUID()}`;
    const unknown = await s.gql(CancelOrderDocument, { orderId: randomUUID() }, await token(first));
    expect(codeOf(unknown)).toBe('NOT_FOUND');
    expect(await s.sql('select role from customer where id = $1', [first])).toEqual([{ role: 'customer' }]);
    const notAnId = `cust-${randomUUID()}`;
    expect(codeOf(await s.gql(CancelOrderDocument, { orderId: 'nope' }, await token(notAnId)))).toBe('NOT_FOUND');
    expect(await s.sql('select role from customer where id = $1', [notAnId])).toEqual([{ role: 'customer' }]);

    const id = `cust-${randomUUID()}`;
    const plan = await createPlan(s);
    const order = await createOrder(s, await token(id), { planId: plan.id });
    expect(order.errors).toBeUndefined();
    const cancelled = await s.gql(CancelOrderDocument, { orderId: order.data!.createOrder.id }, await token(id, 'provider'));
    expect(cancelled.data?.cancelOrder.status).toBe('CANCELLED');
    expect(await s.sql('select role from customer where id = $1', [id])).toEqual([{ role: 'provider' }]);
  });

  test('the stored role follows the latest token; the group is kept', async () => {
    const id = `cust-${randomUUID()}`;
    await s.gql(MeDocument, {}, await token(id));
    await s.sql(`update customer set customer_group = 'gold' where id = $1`, [id]);
    const r = await s.gql(MeDocument, {}, await token(id, 'provider'));
    expect(r.data?.me).toEqual({ id, group: 'gold', role: 'provider' });
  });
});
