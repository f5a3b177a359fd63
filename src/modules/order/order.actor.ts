import type { Role, Viewer } from '../../shared/caller';
import { ForbiddenError, NotFoundError } from '../../shared/errors';

/** Who reads or cancels an order: their customer id and token role (their group does not matter). */
export interface OrderActor {
  customerId: string;
  role: Role | null;
  /**
   * Makes sure the caller's customer row exists with the token's role, when the caller did not wait for
   * that before acting: a customer's cancel skips the round trip, since an order of theirs proves the
   * row is there; it is called when the cancel finds no order of theirs or a stored role that differs.
   */
  ensure?: () => Promise<unknown>;
}

/**
 * The order found for a caller, or its refusal by the contract's codes: NOT_FOUND when none was found,
 * FORBIDDEN when it is another customer's (`ownerOf` reads its customer id) unless `anyOrder`.
 */
export function ownOrRefuse<T>(found: T | null | undefined, ownerOf: (order: T) => string, callerId: string, anyOrder = false): T {
  if (found === null || found === undefined) throw new NotFoundError('No such order');
  if (ownerOf(found) !== callerId && !anyOrder) throw new ForbiddenError('This order is not yours');
  return found;
}

/**
 * Who makes an order: their customer id and token role. Their group is read with the plan, in the same
 * statement, so it is never stale; `restore` makes their customer row again when it is gone (deleted
 * since this process last saw it) and says its group.
 */
export interface OrderCreator extends OrderActor {
  restore(): Promise<Pick<Viewer, 'group'>>;
}
