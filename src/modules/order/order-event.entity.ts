import { Entity, Enum, PrimaryKey, Property } from '@mikro-orm/core';
import { DeliveryStatus } from './order.delivery';
import { OrderStatus } from './order.entity';

/**
 * One committed change of an order: the version it made, the order's status and its delivery's status
 * after it, who made it and when. Written only by the database's triggers on "order" (see migration
 * OrderRecords), in the transaction of the change; never changed or deleted. The code reads it only.
 */
@Entity({ tableName: 'order_event' })
export class OrderEvent {
  @PrimaryKey({ type: 'uuid' })
  orderId: string;

  @PrimaryKey({ type: 'integer' })
  version: number;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  at: Date;

  @Enum({ items: () => OrderStatus })
  status: OrderStatus;

  @Enum({ items: () => DeliveryStatus, nullable: true })
  deliveryStatus: DeliveryStatus | null;

  @Property({ type: 'string', length: 80 })
  actor: string;

  // Rows are written by the database's triggers on "order" alone; nothing builds one here, so there is no
  // constructor to pretend otherwise.
}
