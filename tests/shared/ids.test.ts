import { newId } from '../../src/shared/ids';
import { createOrder, createPlan, credit, newCustomer, PAY_WALLET } from '../support/payments-fixtures';
import { startTestServer, type TestServer } from '../support/server';

/**
 * Row keys are UUIDv7 (RFC 9562), made by the API (newId) and by the database (uuid_v7()) alike: the
 * first 48 bits are the time in milliseconds, so keys of rows made later sort after earlier ones and
 * inserts land on the right-hand pages of the indexes keyed by them.
 */
const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** The milliseconds a UUIDv7 carries. */
const msOf = (id: string): number => parseInt(id.replace(/-/g, '').slice(0, 12), 16);

let api: TestServer;
beforeAll(async () => {
  api = await startTestServer();
});
afterAll(() => api.stop());

test('newId makes UUIDv7 keys of the current time that sort in the order they were made', () => {
  const before = Date.now();
  const ids = Array.from({ length: 2_000 }, () => newId());
  const after = Date.now();
  for (const id of ids) {
    expect(id).toMatch(V7);
    expect(msOf(id)).toBeGreaterThanOrEqual(before);
    expect(msOf(id)).toBeLessThanOrEqual(after);
  }
  expect([...ids].sort()).toEqual(ids);
  expect(new Set(ids).size).toBe(ids.length);
});

test("uuid_v7() in the database carries the time it is given, or the clock's, and every call is new", async () => {
  const [row] = await api.sql<{ given: string; t0: string; a: string; b: string; t1: string }>(
    `select uuid_v7(timestamptz '2026-12-02 17:30:00.123+00')::text as given,
            floor(extract(epoch from clock_timestamp()) * 1000)::bigint as t0, uuid_v7()::text as a, uuid_v7()::text as b,
            floor(extract(epoch from clock_timestamp()) * 1000)::bigint as t1`,
  );
  expect(row.given).toMatch(V7);
  expect(msOf(row.given)).toBe(Date.parse('2026-12-02T17:30:00.123Z'));
  for (const id of [row.a, row.b]) {
    expect(id).toMatch(V7);
    expect(msOf(id)).toBeGreaterThanOrEqual(Number(row.t0));
    expect(msOf(id)).toBeLessThanOrEqual(Number(row.t1));
  }
  expect(row.a).not.toBe(row.b);
});

test("an order, its payment, delivery and ledger entries get time-ordered keys, later orders' after earlier ones'", async () => {
  const planId = await createPlan(api, 1_000);
  const customer = await newCustomer(api, 'ids');
  await credit(api, customer.id, 10_000);
  const first = await createOrder(api, customer, planId);
  const second = await createOrder(api, customer, planId);
  expect(first.id).toMatch(V7);
  expect(second.id).toMatch(V7);
  expect(msOf(second.id)).toBeGreaterThanOrEqual(msOf(first.id));

  const paid = await api.gql(PAY_WALLET, { orderId: second.id }, customer.token);
  expect(paid.data?.payWithWallet.status).toBe('PAID');
  const keys = await api.sql<{ kind: string; id: string }>(
    `select 'payment' as kind, id::text, 1 as n from payment where order_id = $1
     union all select 'journal', journal_id::text, 2 from payment where order_id = $1
     union all select 'delivery', id::text, 3 from delivery where order_id = $1
     union all select 'ledger', id::text, 4 from ledger_entry where order_id = $1
     order by 3`,
    [second.id],
  );
  expect(keys.map((k) => k.kind)).toEqual(['payment', 'journal', 'delivery', 'ledger', 'ledger']);
  for (const k of keys) {
    expect(k.id).toMatch(V7);
    expect(msOf(k.id)).toBeGreaterThanOrEqual(msOf(second.id));
  }
});
