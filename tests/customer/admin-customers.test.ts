import { randomUUID } from 'node:crypto';
import { encodeCursor } from '../../src/shared/cursor';
import { AdminCustomersDocument, MeAccountDocument, SetCustomerGroupDocument, type AdminCustomersQueryVariables } from '../__generated__/graphql';
import { MALFORMED_CURSORS, adminToken, expectCode, ok, readAll } from '../support/backoffice';
import { CREDIT } from '../support/payments-fixtures';
import { startTestServer, token, type TestServer } from '../support/server';

let s: TestServer;
let admin: string;
beforeAll(async () => {
  s = await startTestServer();
  admin = await adminToken();
});
afterAll(() => s.stop());

const list = (variables: AdminCustomersQueryVariables, auth: string | null = admin) => s.gql(AdminCustomersDocument, variables, auth);
/** Every customer the arguments list (pages of `first`), in list order. */
const all = (variables: AdminCustomersQueryVariables, first = 100) => readAll(async (after) => ok(await list({ ...variables, first, after })).customers);
/** Makes a customer by its first request, with a token of `role`. */
async function customer(id: string, role: 'customer' | 'provider' | 'admin' = 'customer'): Promise<string> {
  const t = await token(id, role);
  ok(await s.gql(MeAccountDocument, {}, t));
  return t;
}

describe('customers (admin)', () => {
  test('by id; search finds ids containing the text in any case; group narrows; both combine', async () => {
    const tag = randomUUID().slice(0, 8);
    const ids = [`Zed-${tag}-b`, `zed-${tag}-a`, `amy-${tag}`, `ZED-${tag}-c`, `bob-${tag}`];
    for (const id of ids) await customer(id);
    ok(await s.gql(SetCustomerGroupDocument, { customerId: `zed-${tag}-a`, group: `vip-${tag}` }, admin));
    ok(await s.gql(SetCustomerGroupDocument, { customerId: `amy-${tag}`, group: `vip-${tag}` }, admin));

    const byId = (xs: string[]) => [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const listed = (await all({ search: tag })).map((c) => c.id);
    // The database's collation decides the order; the list must be sorted by it and hold exactly these.
    const [{ sorted }] = await s.sql<{ sorted: string[] }>(`select array_agg(id order by id) as sorted from customer where id like $1`, [`%${tag}%`]);
    expect(listed).toEqual(sorted);
    expect(byId(listed)).toEqual(byId(ids));

    expect(byId((await all({ search: `ZED-${tag.toUpperCase()}` })).map((c) => c.id))).toEqual(byId([`Zed-${tag}-b`, `zed-${tag}-a`, `ZED-${tag}-c`]));
    expect((await all({ search: `${tag}-A` })).map((c) => c.id)).toEqual([`zed-${tag}-a`]);
    expect(byId((await all({ group: `vip-${tag}` })).map((c) => c.id))).toEqual(byId([`zed-${tag}-a`, `amy-${tag}`]));
    expect((await all({ group: `vip-${tag}`, search: 'ZED' })).map((c) => c.id)).toEqual([`zed-${tag}-a`]);
    expect(await all({ search: `nothing-${tag}` })).toEqual([]);
    expect(await all({ group: `nobody-${tag}` })).toEqual([]);
    // Every customer, without arguments, in id order.
    const everyone = (await all({})).map((c) => c.id);
    expect(everyone).toEqual(expect.arrayContaining(ids));
    const [{ n }] = await s.sql<{ n: number }>(`select count(*)::int as n from customer`);
    expect(everyone).toHaveLength(n);
  });

  test('search takes % and _ literally', async () => {
    const tag = randomUUID().slice(0, 8);
    for (const id of [`p%c-${tag}`, `pxc-${tag}`, `u_d-${tag}`, `uxd-${tag}`]) await customer(id);
    expect((await all({ search: `p%c-${tag}` })).map((c) => c.id)).toEqual([`p%c-${tag}`]);
    expect((await all({ search: `u_d-${tag}` })).map((c) => c.id)).toEqual([`u_d-${tag}`]);
    expect((await all({ search: '%' })).map((c) => c.id)).toEqual([`p%c-${tag}`]);
  });

  test('a customer shows its group, role as last seen in a token, creation time and wallet balance', async () => {
    const id = `acct-${randomUUID()}`;
    const before = Date.now();
    await customer(id);
    ok(await s.gql(CREDIT, { customerId: id, amount: 4321, reference: `r-${randomUUID()}` }, admin));
    const [node] = (await all({ search: id })).map((c) => c);
    expect(node).toMatchObject({ id, group: 'default', role: 'customer', balance: { amount: 4321, currency: 'USD' } });
    expect(Date.parse(node.createdAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(node.createdAt)).toBeLessThanOrEqual(Date.now() + 1000);
    // A customer who never had a wallet has a zero balance; `me` shows the same fields.
    const fresh = `acct-${randomUUID()}`;
    const t = await customer(fresh);
    expect((await all({ search: fresh }))[0].balance).toEqual({ amount: 0, currency: 'USD' });
    expect(ok(await s.gql(MeAccountDocument, {}, t)).me).toMatchObject({ id: fresh, role: 'customer', balance: { amount: 0 } });
  });

  test('the stored role follows the token, and a token with the stored role writes nothing', async () => {
    const id = `role-${randomUUID()}`;
    await customer(id);
    const row = async () => (await s.sql<{ role: string; xmin: string; xmax: string }>(`select role, xmin::text, xmax::text from customer where id = $1`, [id]))[0];
    const first = await row();
    expect(first.role).toBe('customer');
    // Requests with the same role: the row is neither rewritten (xmin) nor locked (xmax).
    for (let i = 0; i < 3; i++) ok(await s.gql(MeAccountDocument, {}, await token(id)));
    expect(await row()).toEqual(first);

    const asProvider = await token(id, 'provider');
    expect(ok(await s.gql(MeAccountDocument, {}, asProvider)).me.role).toBe('provider');
    expect((await all({ search: id }))[0].role).toBe('provider');
    const changed = await row();
    expect(changed.role).toBe('provider');
    ok(await s.gql(MeAccountDocument, {}, asProvider));
    expect(await row()).toEqual(changed);
    ok(await s.gql(MeAccountDocument, {}, await token(id, 'admin')));
    expect((await all({ search: id }))[0].role).toBe('admin');
  });

  test('pages are stable while customers are added: no customer missed or repeated', async () => {
    const tag = randomUUID().slice(0, 8);
    const made: string[] = [];
    for (let i = 0; i < 9; i++) {
      made.push(`page-${tag}-m${i}`);
      await customer(made.at(-1)!);
    }
    let n = 0;
    // New customers sort before the first page (`page-<tag>-0…`) or among the rest (`page-<tag>-m5x…`).
    const addTwo = async () => {
      n++;
      await customer(`page-${tag}-0${n}`);
      await customer(`page-${tag}-m5x${n}`);
    };
    const seen = (await readAll(async (after) => ok(await list({ search: `page-${tag}`, first: 2, after })).customers, addTwo)).map((c) => c.id);
    expect(new Set(seen).size).toBe(seen.length);
    const [{ sorted }] = await s.sql<{ sorted: string[] }>(`select array_agg(id order by id) as sorted from customer where id like $1`, [`page-${tag}-%`]);
    // Every customer there at the start, once, in order; of those added, only ones after the cursor at the time.
    expect(seen.filter((id) => made.includes(id))).toEqual(sorted.filter((id) => made.includes(id)));
    expect(seen.filter((id) => id.startsWith(`page-${tag}-0`))).toEqual([]);
    expect(seen.filter((id) => id.startsWith(`page-${tag}-m5x`)).length).toBeGreaterThan(0);
    expect(seen).toEqual(sorted.filter((id) => seen.includes(id)));
  });

  test('ids with control characters (a token subject may hold them) page like any other, one at a time', async () => {
    const tag = randomUUID().slice(0, 8);
    const ids = [`ctl-${tag}\u0001a`, `ctl-${tag}\tb`, `ctl-${tag}-c`];
    for (const id of ids) await customer(id);
    const [{ sorted }] = await s.sql<{ sorted: string[] }>(`select array_agg(id order by id) as sorted from customer where id like $1`, [`ctl-${tag}%`]);
    expect((await all({ search: `ctl-${tag}` }, 1)).map((c) => c.id)).toEqual(sorted);
  });

  test('FORBIDDEN to customers and providers, UNAUTHENTICATED without a token', async () => {
    expectCode(await list({}, await token(`cust-${randomUUID()}`)), 'FORBIDDEN');
    expectCode(await list({ search: 'a' }, await token(`prov-${randomUUID()}`, 'provider')), 'FORBIDDEN');
    expectCode(await list({}, null), 'UNAUTHENTICATED');
  });

  test('first outside 1..100, malformed cursors and too long a search are BAD_USER_INPUT', async () => {
    for (const first of [0, -5, 101]) expect(expectCode(await list({ first }), 'BAD_USER_INPUT').field).toBe('first');
    for (const after of [...MALFORMED_CURSORS, encodeCursor({ micros: '5', id: 'someone' }), encodeCursor({ micros: '0', id: 'bad\u0000id' })]) expectCode(await list({ after }), 'BAD_USER_INPUT');
    // A cursor of the order list is not one of this list.
    const orderCursor = encodeCursor({ micros: '1700000000000000', id: randomUUID() });
    expectCode(await list({ after: orderCursor }), 'BAD_USER_INPUT');
    expectCode(await list({ search: 'x'.repeat(65) }), 'BAD_USER_INPUT');
    expect(ok(await list({ first: 100 })).customers.edges.length).toBeGreaterThan(0);
  });
});
