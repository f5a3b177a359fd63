import { Client } from 'pg';
import { joinSql, rawSql, runOn, sql } from '../../src/shared/sql';
import { watchSent } from '../support/driver';
import { startTestServer, type TestServer } from '../support/server';
import { until } from '../support/until';

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

/** The advisory lock the deadlock test's statement passes through. */
const GATE = 7301;

test('a statement outside a transaction that PostgreSQL rolls back to break a deadlock runs again, and its writes land once', async () => {
  const knex = s.app.orm.em.getConnection().getKnex();
  await s.sql(`create table deadlock_probe (id int primary key, n int not null)`);
  await s.sql(`insert into deadlock_probe values (1, 0), (2, 0)`);
  const deadlocks = async () => Number((await s.sql(`select deadlocks from pg_stat_database where datname = current_database()`))[0].deadlocks);
  const before = await deadlocks();
  /** Whether one session running a text `like` the pattern waits on `waiting`. */
  const sessionWaits = (waiting: string, like: string) =>
    s.sql(`select 1 from pg_stat_activity where wait_event = $1 and query like $2`, [waiting, like]).then((r) => r.length === 1);
  const statementIs = (waiting: string) => sessionWaits(waiting, '%deadlock_probe%pause%');
  // Another session holds row 1, and is slow to look for deadlocks: the statement's session finds this one.
  const other = new Client({ connectionString: s.databaseUrl });
  // A third session keeps the statement's run again from starting before the other session has taken
  // row 2: a run again that started first would find row 2 free, take it, and meet the other session
  // in a second deadlock. The statement passes a gate (a shared advisory lock) before anything else.
  const gatekeeper = new Client({ connectionString: s.databaseUrl });
  await Promise.all([other.connect(), gatekeeper.connect()]);
  try {
    await other.query(`begin`);
    await other.query(`set local deadlock_timeout = '30s'`);
    await other.query(`update deadlock_probe set n = n + 10 where id = 1`);
    // The statement takes row 2, pauses, then asks for row 1; its session looks for a deadlock once,
    // 2 s after it starts waiting, by when the other session is waiting too.
    const statement = runOn<{ rows: number }>(
      knex,
      `with gate as (select pg_advisory_xact_lock_shared(${GATE})),
            two as (update deadlock_probe set n = n + 1 where id = 2 and exists (select from gate) returning id),
            pause as (select pg_sleep(0.5), set_config('deadlock_timeout', '2s', true) from two),
            one as (update deadlock_probe set n = n + 1 where id = 1 and exists (select from pause) returning id)
       select count(*)::int as rows from one`,
      [],
    );
    await until('the statement holding row 2, paused', () => statementIs('PgSleep'));
    // The gatekeeper asks to close the gate, and is given it when the statement's first run ends.
    const gateClosed = gatekeeper.query(`select pg_advisory_lock(${GATE})`);
    await until('the gatekeeper waiting for the gate', () => sessionWaits('advisory', 'select pg_advisory_lock%'));
    // While it pauses, the other session asks for row 2 and waits; the statement then waits for row 1:
    // a deadlock, and the statement is rolled back to break it, which gives row 2 to the other session.
    await other.query(`update deadlock_probe set n = n + 10 where id = 2`);
    await gateClosed;
    await until('the statement run again, waiting at the gate', () => statementIs('advisory'));
    await gatekeeper.query(`select pg_advisory_unlock(${GATE})`);
    // Run again, the statement waits for row 2 until the other session commits.
    await until('the statement run again, waiting for row 2', () => statementIs('transactionid'));
    await other.query(`commit`);
    expect(await statement).toEqual([{ rows: 1 }]);
  } finally {
    await Promise.all([other.end(), gatekeeper.end()]);
  }
  // PostgreSQL counts the deadlock once its sessions report their statistics.
  const counted = await until('the deadlock counted', async () => {
    const n = await deadlocks();
    return n > before ? n : null;
  });
  expect(counted).toBe(before + 1);
  expect(await s.sql(`select id, n from deadlock_probe order by id`)).toEqual([
    { id: 1, n: 11 },
    { id: 2, n: 11 },
  ]);
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
