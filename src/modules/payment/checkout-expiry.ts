import type { EntityManager } from '@mikro-orm/postgresql';
import { enqueue } from '../../infra/jobs';
import { sql, type Sql } from '../../shared/sql';

/** Task name of the job that expires a Checkout Session at the gateway. */
export const EXPIRE_CHECKOUT_TASK = 'expire_checkout';

/** Tries of one expiry (graphile-worker's backoff: about three days in all). */
export const EXPIRE_CHECKOUT_MAX_ATTEMPTS = 25;

/**
 * Asks, inside the transaction that takes an order out of PENDING (cancel, timeout), for its open
 * Checkout Sessions to be expired at the gateway, so none of them can be paid any more. The jobs commit
 * or roll back with the change and run after it (the gateway is never called inside a transaction). A
 * step of the statement that makes the change, for the orders `orderIds` (a subquery of order ids,
 * read after their change) names, answering one row with how many were asked for; the statement must
 * read it, or PostgreSQL skips it. It reads the sessions as they stand when it runs
 * (`checkout_expiry_jobs`, migrations/Migration20261206142000_CheckoutExpiryFromNow.ts): a session stored
 * while the change waited for the order's lock is committed by then, and expired with the others.
 */
export function expireOpenCheckoutsOf(orderIds: Sql): Sql {
  return sql`select checkout_expiry_jobs(array(${orderIds}), ${EXPIRE_CHECKOUT_TASK}, ${EXPIRE_CHECKOUT_MAX_ATTEMPTS}::int) as jobs`;
}

/** The same for one session, e.g. one the gateway opened for an order that stopped being payable meanwhile. */
export async function expireCheckoutLater(em: EntityManager, sessionId: string): Promise<void> {
  await enqueue(em, EXPIRE_CHECKOUT_TASK, { sessionId }, { jobKey: `${EXPIRE_CHECKOUT_TASK}:${sessionId}`, maxAttempts: EXPIRE_CHECKOUT_MAX_ATTEMPTS });
}
