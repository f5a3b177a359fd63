import { RedisPubSub } from 'graphql-redis-subscriptions';
import { PubSub as MemoryPubSub } from 'graphql-subscriptions';
import Redis, { type RedisOptions } from 'ioredis';
import type { OrderSnapshot } from '../modules/order/order.snapshot';

/** Subscription topics. Each is keyed (by order id, by customer id) into one channel per key. */
export enum Topic {
  /** Every committed change of one order; key: the order id. */
  ORDER_UPDATED = 'ORDER_UPDATED',
  /** Every committed change of any order of one customer; key: the customer id. */
  CUSTOMER_ORDERS_UPDATED = 'CUSTOMER_ORDERS_UPDATED',
}

/** The payload each topic carries: JSON-safe, so it crosses Redis unchanged. */
export interface TopicPayloads {
  [Topic.ORDER_UPDATED]: OrderSnapshot;
  [Topic.CUSTOMER_ORDERS_UPDATED]: OrderSnapshot;
}

/** Channel name of one key of a topic. */
export const channel = (topic: Topic, key: string): string => `${topic}.${key}`;

/** Typed publish/subscribe; in process, or through Redis across instances. */
export interface EventBus {
  publish<T extends Topic>(topic: T, key: string, payload: TopicPayloads[T]): Promise<void>;
  subscribe<T extends Topic>(topic: T, key: string): AsyncIterableIterator<TopicPayloads[T]>;
  /** False while the transport cannot deliver (Redis down). */
  healthy(): boolean;
  close(): Promise<void>;
}

interface Engine {
  publish(trigger: string, payload: unknown): Promise<void> | void;
  asyncIterableIterator<T>(triggers: string | readonly string[]): AsyncIterableIterator<T>;
}

class Bus implements EventBus {
  constructor(
    private readonly engine: Engine,
    private readonly isHealthy: () => boolean,
    private readonly onClose: () => Promise<void>,
  ) {}
  async publish<T extends Topic>(topic: T, key: string, payload: TopicPayloads[T]): Promise<void> {
    await this.engine.publish(channel(topic, key), payload);
  }
  subscribe<T extends Topic>(topic: T, key: string): AsyncIterableIterator<TopicPayloads[T]> {
    return this.engine.asyncIterableIterator<TopicPayloads[T]>(channel(topic, key));
  }
  healthy(): boolean {
    return this.isHealthy();
  }
  close(): Promise<void> {
    return this.onClose();
  }
}

/** In-process bus: one instance only. */
export function memoryBus(): EventBus {
  return new Bus(new MemoryPubSub() as unknown as Engine, () => true, async () => undefined);
}

/**
 * Redis-backed bus. ioredis reconnects by itself with capped backoff; while Redis is away publishes
 * fail fast (the change is already committed; clients resync from the snapshot on reconnect).
 */
export function redisBus(url: string, onError: (e: Error) => void = () => undefined): EventBus {
  const options: RedisOptions = {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    lazyConnect: false,
  };
  const publisher = new Redis(url, options);
  // The subscriber must queue its SUBSCRIBE commands while reconnecting so subscriptions are restored.
  const subscriber = new Redis(url, { ...options, enableOfflineQueue: true, maxRetriesPerRequest: null });
  publisher.on('error', onError);
  subscriber.on('error', onError);
  const engine = new RedisPubSub({ publisher, subscriber });
  return new Bus(
    engine as unknown as Engine,
    () => publisher.status === 'ready' && subscriber.status === 'ready',
    async () => {
      await engine.close().catch(() => undefined);
    },
  );
}
