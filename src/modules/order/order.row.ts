import type { OrderSnapshot } from './order.snapshot';

/** An `order` row as PostgreSQL's `row_to_json` gives it (snake_case columns, timestamps as text). */
export interface OrderRow {
  id: string;
  number: string;
  customer_id: string;
  plan_id: string;
  upgrade_ids: string[];
  upgrades: Array<{ id: string; name: string; price: number }> | null;
  coupon_code: string | null;
  currency: string;
  subtotal: number;
  discount: number;
  tax: number;
  total: number;
  status: string;
  created_at: string;
  expires_at: string | null;
  paid_at: string | null;
  payment_method: string | null;
  delivered_at: string | null;
  cancelled_at: string | null;
  cancel_reason: string | null;
  version: number;
}

/** A `delivery` row as `row_to_json` gives it. */
export interface DeliveryRow {
  id: string;
  provider_id: string | null;
  status: string;
  attempts: number;
  updated_at: string;
  completed_at: string | null;
}

const iso = (t: string | null): string | null => (t === null ? null : new Date(t).toISOString());

/**
 * The snapshot of an order straight from the rows a statement returned, for write paths that get the
 * order back from the statement that changed it (no read-back, no entity). `planProviderId` is the
 * plan's provider, who watches the order when the delivery names none.
 */
export function snapshotFromRows(order: OrderRow, delivery: DeliveryRow | null, planProviderId: string | null): OrderSnapshot {
  return {
    id: order.id,
    number: order.number,
    customerId: order.customer_id,
    providerId: delivery?.provider_id ?? planProviderId,
    status: order.status,
    planId: order.plan_id,
    upgradeIds: [...order.upgrade_ids],
    upgrades: (order.upgrades ?? []).map((u) => ({ id: u.id, name: u.name, price: u.price })),
    couponCode: order.coupon_code,
    currency: order.currency,
    subtotal: order.subtotal,
    discount: order.discount,
    tax: order.tax,
    total: order.total,
    createdAt: iso(order.created_at)!,
    expiresAt: iso(order.expires_at),
    paidAt: iso(order.paid_at),
    paymentMethod: order.payment_method,
    deliveredAt: iso(order.delivered_at),
    cancelledAt: iso(order.cancelled_at),
    cancelReason: order.cancel_reason,
    delivery: delivery
      ? { id: delivery.id, status: delivery.status, attempts: delivery.attempts, updatedAt: iso(delivery.updated_at)!, completedAt: iso(delivery.completed_at) }
      : null,
    version: order.version,
  };
}
