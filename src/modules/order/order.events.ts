import { Topic, type EventBus } from '../../infra/pubsub';
import type { AfterCommit } from '../../shared/unit-of-work';
import type { OrderSnapshot } from './order.snapshot';

/** What the order topic carries: the order as committed, to its customer's key. */
export interface OrderTopics {
  [Topic.CUSTOMER_ORDERS_UPDATED]: OrderSnapshot;
}

/**
 * Publishes committed order changes, once each, to the order's customer's key: the customer's own feed
 * and every watcher of one of their orders (who keeps that order's changes) listen there.
 */
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

  publish(snapshot: OrderSnapshot): Promise<void> {
    return this.bus.publish(Topic.CUSTOMER_ORDERS_UPDATED, snapshot.customerId, snapshot);
  }
}
