import type { Pool } from 'pg';
import { cleanCheckpoint } from './database';
import type { LoadResult } from './load';
import { mirroredRounds, takeTurns } from './turns';

/** Which of the two order tables is in place as "order". */
export type Side = 'small' | 'big';

/** Puts one of the two order tables in place as "order"; true when it was not already. */
export type Place = (side: Side) => Promise<boolean>;

/**
 * Runs `use` with a small order table beside the bench's grown one: `order_small`, made like "order"
 * (columns, defaults, indexes, constraints) and holding a copy of the rows `keep` (a condition, a
 * constant of the bench) selects from it. `place` renames the two in one transaction so that the one
 * asked for is "order", which the API's statements then read: PostgreSQL plans its prepared statements
 * again after the rename, on the table the name now stands for. At the end the grown table is "order"
 * again and the small one is dropped, whatever happens. `use` starts from a clean checkpoint.
 *
 * So one API process reads the small table and the big one in turns (see {@link inTurns}), in the same
 * minutes: measured before and after the growth, a minute apart, the comparison was the machine's drift
 * as much as the table's size (the same pages cost the API 0.41 ms of CPU each before and 0.57 ms after,
 * with the work in its profile alike); with an API process for each table, it was the two processes'
 * (0.49 ms against 0.59 in one run, 0.61 against 0.43 in the next, each time the same work).
 */
export async function withSmallTable<T>(pool: Pool, keep: string, use: (place: Place, smallRows: number) => Promise<T>): Promise<T> {
  await pool.query(`drop table if exists order_small`);
  await pool.query(`create table order_small (like "order" including all)`);
  let inPlace: Side = 'big';
  const place: Place = async (side) => {
    if (side === inPlace) return false;
    await pool.query(`begin; alter table "order" rename to order_swap; alter table order_small rename to "order"; alter table order_swap rename to order_small; commit;`);
    inPlace = side;
    return true;
  };
  try {
    await pool.query(`insert into order_small select * from "order" where ${keep}`);
    await pool.query('vacuum analyze order_small');
    // Neither table's turns may pay for writing out what the growth and the copy left.
    await cleanCheckpoint(pool);
    const { rows } = await pool.query<{ n: string }>('select count(*) as n from order_small');
    return await use(place, Number(rows[0].n));
  } finally {
    await place('big');
    await pool.query('drop table order_small');
  }
}

/** What {@link inTurns} measured: each side's turns combined, and the turns' rates in a line. */
export interface InTurns {
  small: LoadResult;
  big: LoadResult;
  /** The optional ceiling's turns combined, when one was given. */
  ceiling?: LoadResult;
  turns: string;
}

/** Unmeasured load after each change of table: the first statements on it are planned again. */
const SETTLE_SECONDS = 1;

/**
 * One load on the small table and on the big one, in quarters of `seconds` taken in turns that mirror
 * (small, big, big, small, then big, small, small, big), each table warmed up first for `warmupSeconds`
 * and each turn after a change of table preceded by a second of unmeasured load. An optional ceiling (a
 * load of its own, already warm) takes the turns between them (small, ceiling, big, big, ceiling,
 * small, big, ceiling, small, small, ceiling, big), so that it too is measured in the same minutes.
 * Each side's turns sit at the same mean place in the sequence, and nearly the same spread: a machine
 * or a process whose speed drifts, even one that is faster or slower in the middle minutes than at the
 * ends (both were seen with the halves small, big, big, small), weighs on both sides alike.
 */
export async function inTurns(
  place: Place,
  seconds: number,
  warmupSeconds: number,
  load: (seconds: number) => Promise<LoadResult>,
  ceiling?: { name: string; load: (seconds: number) => Promise<LoadResult> },
): Promise<InTurns> {
  await place('small');
  await load(warmupSeconds);
  await place('big');
  await load(warmupSeconds);
  const quarter = seconds / 4;
  const rounds: Array<Array<Side | 'ceiling'>> = ceiling
    ? [
        ['small', 'ceiling', 'big'],
        ['big', 'ceiling', 'small'],
      ]
    : [
        ['small', 'big'],
        ['big', 'small'],
      ];
  const turns = await takeTurns(mirroredRounds(rounds), async (side) => {
    if (side === 'ceiling') return ceiling!.load(quarter);
    if (await place(side)) await load(SETTLE_SECONDS);
    return load(quarter);
  });
  return {
    small: turns.of('small'),
    big: turns.of('big'),
    ...(ceiling ? { ceiling: turns.of('ceiling') } : {}),
    turns: turns.line((side) => (side === 'ceiling' ? ceiling!.name : side)),
  };
}
