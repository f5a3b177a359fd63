/**
 * Where an order's delivery stands. The order module owns it (the GraphQL `Delivery` type and the
 * order's snapshots show it); the delivery module, above this one, moves deliveries through it.
 */
export enum DeliveryStatus {
  NEW = 'NEW',
  IN_PROGRESS = 'IN_PROGRESS',
  REVIEWING = 'REVIEWING',
  COMPLETED = 'COMPLETED',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
}

/** What the order module reads of an order's delivery; the delivery module's entity is the row itself. */
export interface OrderDelivery {
  id: string;
  status: DeliveryStatus;
  attempts: number;
  updatedAt: Date;
  completedAt: Date | null;
  /** The provider the delivery went to, null for automatic delivery. */
  provider: { id: string } | null;
}
