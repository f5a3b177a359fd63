import type { EntityManager } from '@mikro-orm/postgresql';
import { Role } from '../../shared/caller';
import { isUuid } from '../../shared/ids';
import type { PageInfo } from '../../shared/types';
import type { AfterCommit } from '../../shared/unit-of-work';
import { listCustomerOrders } from './order-list';
import { pageSelection } from './order-page';
import { OrderPlacement, type OrderPlacementDeps } from './order-placement';
import { OrderRelease, type OrderReleaseDeps } from './order-release';
import { ownOrRefuse, type OrderActor, type OrderCreator } from './order.actor';
import { Order, type OrderStatus } from './order.entity';
import type { CreateOrderInput } from './order.inputs';
import { toSnapshot, type OrderSnapshot } from './order.snapshot';

export type { OrderActor, OrderCreator } from './order.actor';

/** One page of a customer's orders. */
export interface OrderPage {
  edges: Array<{ cursor: string; node: OrderSnapshot }>;
  pageInfo: PageInfo;
}

/**
 * Orders as the resolvers, jobs and other modules see them: placing (order-placement.ts), ending and
 * giving back what an order held (order-release.ts), and reading, which is small enough to live here.
 * One object, so the wiring and every caller keep a single `orders` service whatever file does the work.
 */
export class OrderService {
  private readonly placement: OrderPlacement;
  private readonly release: OrderRelease;

  constructor(deps: OrderPlacementDeps & OrderReleaseDeps) {
    this.placement = new OrderPlacement(deps);
    this.release = new OrderRelease(deps);
  }

  /** Places a PENDING order, or answers the first order of its idempotency key: see {@link OrderPlacement.create}. */
  create(em: EntityManager, caller: OrderCreator, input: CreateOrderInput): Promise<OrderSnapshot> {
    return this.placement.create(em, caller, input);
  }

  /** Cancels a PENDING order for its customer or an admin: see {@link OrderRelease.cancel}. */
  cancel(em: EntityManager, caller: OrderActor, orderId: string): Promise<OrderSnapshot> {
    return this.release.cancel(em, caller, orderId);
  }

  /** The payment timeout: see {@link OrderRelease.expire}. */
  expire(em: EntityManager, orderId: string): Promise<boolean> {
    return this.release.expire(em, orderId);
  }

  /** Gives back whatever the order still holds, leaving its status alone: see {@link OrderRelease.giveBackHeld}. */
  giveBackHeld(tx: EntityManager, after: AfterCommit, orderId: string): Promise<{ unpaidSlot: boolean; stock: boolean; couponUse: boolean }> {
    return this.release.giveBackHeld(tx, after, orderId);
  }

  /** One order: the caller's own, or any for admins. NOT_FOUND for unknown ids and non-UUIDs, FORBIDDEN for another customer's order. */
  async get(em: EntityManager, caller: OrderActor, id: string): Promise<OrderSnapshot> {
    const order = isUuid(id) ? await em.findOne(Order, { id }, { populate: ['plan', 'delivery'] }) : null;
    return toSnapshot(ownOrRefuse(order, (o) => o.customer.id, caller.customerId, caller.role === Role.ADMIN));
  }

  /** The caller's orders, newest first, one page by keyset pagination (see {@link listCustomerOrders}). */
  async list(
    em: EntityManager,
    caller: OrderActor,
    args: { first?: number | null; after?: string | null; status?: OrderStatus | null },
    fields: Iterable<string> | null = null,
  ): Promise<OrderPage> {
    return listCustomerOrders(em, caller.customerId, args, pageSelection(fields));
  }

  /** The graphile-worker handlers of this module. */
  tasks(em: () => EntityManager) {
    return this.release.tasks(em);
  }
}
