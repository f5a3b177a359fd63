import type { Role, Viewer } from '../../shared/caller';

/** Who reads or cancels an order: their customer id and token role (their group does not matter). */
export interface OrderActor {
  customerId: string;
  role: Role | null;
}

/**
 * Who makes an order: their customer id and token role. Their group is read with the plan, in the same
 * statement, so it is never stale; `restore` makes their customer row again when it is gone (deleted
 * since this process last saw it) and says its group.
 */
export interface OrderCreator extends OrderActor {
  restore(): Promise<Pick<Viewer, 'group'>>;
}
