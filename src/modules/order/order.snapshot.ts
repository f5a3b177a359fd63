import type { FilterQuery } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { OrderDelivery } from './order.delivery';
import { Order, type BoughtUpgrade } from './order.entity';

/**
 * An order as published to subscribers after a commit: plain JSON (dates as ISO strings), so it
 * crosses Redis unchanged and a subscriber needs no database read to answer.
 */
export interface OrderSnapshot {
  id: string;
  number: string;
  customerId: string;
  /** The plan's provider, who may also watch the order. */
  providerId: string | null;
  status: string;
  planId: string;
  upgradeIds: string[];
  /**
   * The upgrades bought, with the names and prices they had when the order was made (absent from a
   * snapshot published by an instance that predates it: read by id then).
   */
  upgrades?: BoughtUpgrade[];
  couponCode: string | null;
  currency: string;
  subtotal: number;
  discount: number;
  tax: number;
  total: number;
  createdAt: string;
  expiresAt: string | null;
  paidAt: string | null;
  paymentMethod: string | null;
  deliveredAt: string | null;
  cancelledAt: string | null;
  cancelReason: string | null;
  delivery: DeliverySnapshot | null;
  version: number;
}

/** A delivery inside an {@link OrderSnapshot}. */
export interface DeliverySnapshot {
  id: string;
  status: string;
  attempts: number;
  updatedAt: string;
  completedAt: string | null;
}

const iso = (d: Date | null | undefined): string | null => (d ? new Date(d).toISOString() : null);

/** The snapshot of an order (and its delivery, when it has one) as committed. */
export function toSnapshot(order: Order, delivery: OrderDelivery | null = order.delivery ?? null): OrderSnapshot {
  return {
    id: order.id,
    number: order.number,
    customerId: order.customer.id,
    providerId: delivery?.provider?.id ?? order.plan.provider?.id ?? null,
    status: order.status,
    planId: order.plan.id,
    upgradeIds: [...order.upgradeIds],
    upgrades: (order.upgrades ?? []).map((u) => ({ id: u.id, name: u.name, price: u.price })),
    couponCode: order.couponCode,
    currency: order.currency,
    subtotal: order.subtotal,
    discount: order.discount,
    tax: order.tax,
    total: order.total,
    createdAt: iso(order.createdAt)!,
    expiresAt: iso(order.expiresAt),
    paidAt: iso(order.paidAt),
    paymentMethod: order.paymentMethod,
    deliveredAt: iso(order.deliveredAt),
    cancelledAt: iso(order.cancelledAt),
    cancelReason: order.cancelReason,
    delivery: delivery
      ? {
          id: delivery.id,
          status: delivery.status,
          attempts: delivery.attempts,
          updatedAt: iso(delivery.updatedAt)!,
          completedAt: iso(delivery.completedAt),
        }
      : null,
    version: order.version,
  };
}

/**
 * The order with its plan and delivery as the database, inside the caller's transaction when there is
 * one, has them now. The read runs on a clean fork: an entity already managed by `em` (loaded before a
 * guarded SQL update changed its row) cannot stand in for the row, and the relations come with the
 * order in one joined query.
 */
export async function readSnapshot(em: EntityManager, where: FilterQuery<Order>): Promise<OrderSnapshot | null> {
  const order = await em.fork({ clear: true, keepTransactionContext: true }).findOne(Order, where, { populate: ['plan', 'delivery'] });
  return order ? toSnapshot(order) : null;
}

/** As {@link readSnapshot}, for every order `where` matches, in one query. */
export async function readSnapshots(em: EntityManager, where: FilterQuery<Order>): Promise<OrderSnapshot[]> {
  const orders = await em.fork({ clear: true, keepTransactionContext: true }).find(Order, where, { populate: ['plan', 'delivery'] });
  return orders.map((o) => toSnapshot(o));
}
