import { Topic, type EventBus } from '../../infra/pubsub';
import type { AfterCommit } from '../../shared/unit-of-work';
import type { OrderSnapshot } from './order.snapshot';

/** What the order topics carry: the order as committed, to the order's own key and to its customer's. */
export interface OrderTopics {
  [Topic.ORDER_UPDATED]: OrderSnapshot;
  [Topic.CUSTOMER_ORDERS_UPDATED]: OrderSnapshot;
}

/** Publishes committed order changes: to the order's topic and to its customer's. */
export class OrderEvents {
  constructor(private readonly bus: EventBus<OrderTopics>) {}

  /**
   * Publishes `snapshot` once the surrounding unit of work has committed. The answer to the change does
   * not wait for the transport to confirm the publish (a Redis round trip): the event leaves after the
   * commit either way, a failed publish is only logged (see {@link EventBus.publish}), and one
   * connection keeps a key's events in the order they were published.
   */
  afterCommit(after: AfterCommit, snapshot: OrderSnapshot): void {
    after.add(() => void this.publish(snapshot));
  }

  async publish(snapshot: OrderSnapshot): Promise<void> {
    await Promise.all([
      this.bus.publish(Topic.ORDER_UPDATED, snapshot.id, snapshot),
      this.bus.publish(Topic.CUSTOMER_ORDERS_UPDATED, snapshot.customerId, snapshot),
    ]);
  }
}
