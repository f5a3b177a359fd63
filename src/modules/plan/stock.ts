import { sql, type Sql } from '../../shared/sql';

/*
 * `plan.stock_used`, the units of a plan's stock held by live orders, as steps another module's statement
 * runs (a CTE each), so an order takes or gives back its unit in the statement that makes or ends it.
 * Only plans with a stock are touched when taking: an unlimited plan's row is never a hot row.
 */

/**
 * Takes one unit of `planId`'s stock if one is left, when `condition` holds (which also orders this step
 * after the one it names). Returns one row when the order may go on: `limited` true when a unit was
 * taken, false when the plan has been made unlimited meanwhile (nothing taken; the order must not
 * record a unit); no row when it is sold out. Racing orders queue on the row and each re-checks the
 * stock against the latest count.
 */
export function takeStockUnit(planId: string, condition: Sql): Sql {
  return sql`update plan set stock_used = stock_used + case when stock is null then 0 else 1 end
              where id = ${planId} and (stock is null or stock_used < stock) and ${condition}
             returning stock is not null as limited`;
}

/**
 * Gives back one unit of each plan `planIds` (a subquery of plan ids, one per order that held a unit)
 * names, counted even if the plan has become unlimited since, so the count is right if a stock is set
 * again; never below zero. Returns each plan's id and whether it has a stock (then its listing changed).
 */
export function giveBackStockUnits(planIds: Sql): Sql {
  return sql`update plan set stock_used = stock_used - 1
              where id in (${planIds}) and stock_used > 0
             returning id, stock is not null as limited`;
}
