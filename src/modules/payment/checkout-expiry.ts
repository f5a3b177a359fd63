import type { EntityManager } from '@mikro-orm/postgresql';
import { enqueue } from '../../infra/jobs';

/** Task name of the job that expires a Checkout Session at the gateway. */
export const EXPIRE_CHECKOUT_TASK = 'expire_checkout';

/** Tries of one expiry (graphile-worker's backoff: about three days in all). */
export const EXPIRE_CHECKOUT_MAX_ATTEMPTS = 25;

/**
 * Asks, inside the transaction that takes an order out of PENDING (cancel, timeout, payment), for its
 * open Checkout Sessions to be expired at the gateway, so none of them can be paid any more. The jobs
 * commit or roll back with the change and run after it (the gateway is never called inside a
 * transaction); one statement, and nothing when the order has no open session.
 */
export async function expireOpenCheckouts(tx: EntityManager, orderId: string): Promise<void> {
  await tx.execute(
    `insert into job_outbox (task, payload, job_key, max_attempts)
     select ?, jsonb_build_object('sessionId', id), ? || id, ? from checkout_session where order_id = ? and status = 'OPEN'`,
    [EXPIRE_CHECKOUT_TASK, `${EXPIRE_CHECKOUT_TASK}:`, EXPIRE_CHECKOUT_MAX_ATTEMPTS, orderId],
  );
}

/** The same for one session, e.g. one the gateway opened for an order that stopped being payable meanwhile. */
export async function expireCheckoutLater(em: EntityManager, sessionId: string): Promise<void> {
  await enqueue(em, EXPIRE_CHECKOUT_TASK, { sessionId }, { jobKey: `${EXPIRE_CHECKOUT_TASK}:${sessionId}`, maxAttempts: EXPIRE_CHECKOUT_MAX_ATTEMPTS });
}
