import { joinSql, rawSql, runOn, sql } from '../../src/shared/sql';
import { watchSent } from '../support/driver';
import { startTestServer, type TestServer } from '../support/server';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.stop());

/** What node-postgres was sent while `fn` ran, by statement text. */
async function sent(fn: () => Promise<unknown>): Promise<string[]> {
  const watch = watchSent();
  try {
    await fn();
  } finally {
    watch.stop();
  }
  return watch.texts;
}

test('a statement outside a transaction answers as it did through knex: values bound, escaped ? kept, named or not', async () => {
  const knex = s.app.orm.em.getConnection().getKnex();
  const statement = sql`select ${2}::int + ${3}::int as sum, '{"a":1}'::jsonb \\? ${'a'} as has_a, ${"it's ?"}::text as text`;
  const expected = [{ sum: 5, has_a: true, text: "it's ?" }];
  const texts = await sent(async () => {
    expect(await runOn(knex, statement.text, statement.bindings)).toEqual(expected);
    expect(await runOn(knex, statement.text, statement.bindings, 'sql_test_named')).toEqual(expected);
    expect(await runOn(knex, statement.text, statement.bindings, 'sql_test_named')).toEqual(expected);
  });
  expect(texts.filter((t) => t.includes('has_a'))).toEqual(Array(3).fill(`select $1::int + $2::int as sum, '{"a":1}'::jsonb ? $3 as has_a, $4::text as text`));

  // Inside a transaction the same statement goes through knex, with the same answer.
  await s.app.orm.em.fork().transactional(async (em) => {
    const trx = em.getTransactionContext() as typeof knex;
    expect(await runOn(trx, statement.text, statement.bindings)).toEqual(expected);
  });
});

test('what only knex can judge still goes through knex: a wrong value count and undefined values are refused before anything is sent', async () => {
  const knex = s.app.orm.em.getConnection().getKnex();
  const texts = await sent(async () => {
    await expect(runOn(knex, 'select ?::int as a, ?::int as b', [1])).rejects.toThrow(/bindings/i);
    await expect(runOn(knex, 'select ?::int as a', [undefined])).rejects.toThrow(/undefined binding/i);
    // A text sent before with the right count is still refused with the wrong one.
    expect(await runOn(knex, 'select ?::int as a, ?::int as b', [1, 2])).toEqual([{ a: 1, b: 2 }]);
    await expect(runOn(knex, 'select ?::int as a, ?::int as b', [1])).rejects.toThrow(/bindings/i);
  });
  expect(texts.filter((t) => t.includes('as a'))).toEqual(['select $1::int as a, $2::int as b']);
  // A database error keeps its SQLSTATE, which the services map to the contract's codes.
  await expect(runOn(knex, 'select 1 / ?::int', [0])).rejects.toMatchObject({ code: '22012' });
});

test('a statement is put together from its pieces as written, whichever pieces this call passes', () => {
  // One place in the program, three shapes: a nested piece, a value, and a join of another length.
  const step = (inner: unknown, parts: number) =>
    sql`with s as (select ${inner} as a), t as (select ${joinSql(
      Array.from({ length: parts }, (_, i) => sql`${i}::int`),
      ' + ',
    )} as b) select * from s, t where ${rawSql(parts > 1 ? 'true' : 'false')}`;
  expect(step(sql`${1}::int + ${2}::int`, 2)).toMatchObject({
    text: 'with s as (select ?::int + ?::int as a), t as (select ?::int + ?::int as b) select * from s, t where true',
    bindings: [1, 2, 0, 1],
  });
  expect(step(7, 1)).toMatchObject({ text: 'with s as (select ? as a), t as (select ?::int as b) select * from s, t where false', bindings: [7, 0] });
  // The first shape again, with other values and an undefined one (sent as null).
  expect(step(sql`${undefined}::int + ${5}::int`, 2)).toMatchObject({
    text: 'with s as (select ?::int + ?::int as a), t as (select ?::int + ?::int as b) select * from s, t where true',
    bindings: [null, 5, 0, 1],
  });
  expect(step(sql`${3}::int`, 0)).toMatchObject({ text: 'with s as (select ?::int as a), t as (select  as b) select * from s, t where false', bindings: [3] });
  expect(() => sql`select ${[1, 2]}`).toThrow(/textArray/);
});
