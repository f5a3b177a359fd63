import type { Pool } from 'pg';
import { cleanCheckpoint } from './database';
import { combineLoads, type LoadResult } from './load';

/** Which of the two order tables is in place as "order". */
export type Side = 'small' | 'big';

/** Puts one of the two order tables in place as "order" (nothing to do when it already is). */
export type Place = (side: Side) => Promise<void>;

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
    if (side === inPlace) return;
    await pool.query(`begin; alter table "order" rename to order_swap; alter table order_small rename to "order"; alter table order_swap rename to order_small; commit;`);
    inPlace = side;
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
  halves: string;
}

/** Unmeasured load after each change of table: the first statements on it are planned again. */
const SETTLE_SECONDS = 1;

/**
 * One load on the small table and on the big one, in halves of `seconds` taken in turns (small, big,
 * big, small), each table warmed up first for `warmupSeconds` and each turn after a change of table
 * preceded by a second of unmeasured load. An optional ceiling (a load of its own, already warm) takes
 * the turns next to the big table's (small, ceiling, big, big, ceiling, small), so that it too is
 * measured in the big table's minutes.
 */
export async function inTurns(
  place: Place,
  seconds: number,
  warmupSeconds: number,
  load: (seconds: number) => Promise<LoadResult>,
  ceiling?: { name: string; load: (seconds: number) => Promise<LoadResult> },
): Promise<InTurns> {
  const on = async (side: Side, runSeconds: number) => {
    await place(side);
    return load(runSeconds);
  };
  const settled = async (side: Side, runSeconds: number) => {
    await on(side, SETTLE_SECONDS);
    return load(runSeconds);
  };
  await on('small', warmupSeconds);
  await on('big', warmupSeconds);
  const half = seconds / 2;
  const s1 = await settled('small', half);
  const c1 = await ceiling?.load(half);
  const b1 = await settled('big', half);
  const b2 = await load(half);
  const c2 = await ceiling?.load(half);
  const s2 = await settled('small', half);
  const rps = (r: LoadResult) => r.rps.toFixed(0);
  const turns = [`small ${rps(s1)}`, ...(c1 ? [`${ceiling!.name} ${rps(c1)}`] : []), `big ${rps(b1)}`, `big ${rps(b2)}`, ...(c2 ? [`${ceiling!.name} ${rps(c2)}`] : []), `small ${rps(s2)}`];
  return {
    small: combineLoads([s1, s2]),
    big: combineLoads([b1, b2]),
    ...(c1 && c2 ? { ceiling: combineLoads([c1, c2]) } : {}),
    halves: `${turns.join(', ')} req/s`,
  };
}
