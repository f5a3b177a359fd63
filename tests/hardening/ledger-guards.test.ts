import { startTestServer, type TestServer } from '../support/server';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.stop());

test('the database refuses to update, delete or truncate ledger entries, even from a direct connection', async () => {
  await s.sql(`insert into ledger_entry (id, journal_id, account, customer_id, amount, kind)
               values (gen_random_uuid(), '00000000-0000-4000-8000-000000000001', 'FUNDING', null, -5, 'CREDIT'),
                      (gen_random_uuid(), '00000000-0000-4000-8000-000000000001', 'FUNDING', null, 5, 'CREDIT')`);
  await expect(s.sql(`update ledger_entry set amount = 0`)).rejects.toThrow(/immutable/);
  await expect(s.sql(`delete from ledger_entry`)).rejects.toThrow(/immutable/);
  await expect(s.sql(`truncate ledger_entry cascade`)).rejects.toThrow(/immutable/);
  expect(await s.sql(`select count(*)::int as n from ledger_entry`)).toEqual([{ n: 2 }]);
});
