import { sql, type Sql } from '../../shared/sql';

/*
 * `customer.unpaid_orders`, the limit on a customer's PENDING orders, as steps another module's statement
 * runs (a CTE each), so an order takes or gives back a slot in the statement that makes or ends it, at no
 * round trip of its own. These are the only writes of the count outside this module's own service.
 */

/**
 * Takes one of `customerId`'s unpaid-order slots if fewer than `limit` are taken, when `condition` holds
 * (e.g. `exists (select from placed)`, which also orders this step after that one). Returns one row
 * (`id`) when the slot was taken, none at the limit. A guarded update: racing orders of one customer
 * queue on the row and each re-checks the limit against the latest count.
 */
export function takeUnpaidSlot(customerId: string, limit: number, condition: Sql): Sql {
  return sql`update customer set unpaid_orders = unpaid_orders + 1
              where id = ${customerId} and unpaid_orders < ${limit} and ${condition}
             returning id`;
}

/**
 * Gives back one slot of each customer `customerIds` (a subquery of customer ids, one per order that
 * held a slot) names; never below zero. Returns the customers' ids.
 */
export function giveBackUnpaidSlots(customerIds: Sql): Sql {
  return sql`update customer set unpaid_orders = unpaid_orders - 1
              where id in (${customerIds}) and unpaid_orders > 0
             returning id`;
}

/** `customerId`'s group as a scalar subquery: null when the customer has no row (yet, or any more). */
export function customerGroupOf(customerId: string): Sql {
  return sql`(select customer_group from customer where id = ${customerId})`;
}
