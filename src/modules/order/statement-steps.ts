import { joinSql, rawSql, sql, type Sql } from '../../shared/sql';

/**
 * The steps a statement runs in turn, as CTEs; each later step depends on the one before it. Both the
 * statement that places an order and the one that gives back what an order held are built this way.
 */
export class Steps {
  private readonly steps: Sql[] = [];
  /** The name of the step added last, which {@link after} waits for by default. */
  last = '';
  /** Adds `step` as the CTE `name` (a constant of the program: it is spliced into the text as it is). */
  add(name: string, step: Sql): this {
    this.steps.push(sql`${rawSql(name)} as (${step})`);
    this.last = name;
    return this;
  }
  /** The condition that makes a step wait for `name` (by default the last one added) and run only if it changed a row. */
  after(name = this.last): Sql {
    return sql`exists (select from ${rawSql(name)})`;
  }
  /** `with` and every step, then `main`. */
  then(main: Sql): Sql {
    return sql`with ${joinSql(this.steps, ',\n')}\n${main}`;
  }
}
