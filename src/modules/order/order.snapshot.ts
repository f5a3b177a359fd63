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
