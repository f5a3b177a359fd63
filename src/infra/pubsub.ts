import { RedisPubSub } from 'graphql-redis-subscriptions';
import { PubSub as MemoryPubSub } from 'graphql-subscriptions';
import Redis, { type RedisOptions } from 'ioredis';
import { EventEmitter } from 'node:events';

/** Subscription topics. Each is keyed (a customer id; the catalogue its one key) into one channel per key. */
export enum Topic {
  /**
   * Every committed change of any order of one customer; key: the customer id. A watcher of one order
   * listens to its customer's key and keeps that order's changes: a change is published once, not once
   * per topic that could want it.
   */
  CUSTOMER_ORDERS_UPDATED = 'CUSTOMER_ORDERS_UPDATED',
  /**
   * What the catalogue shows changed: a plan or its stock (every instance drops its catalogue copy), or
   * a customer's group (every instance forgets that customer's group); key: {@link CATALOGUE_KEY}.
   */
  CATALOGUE_CHANGED = 'CATALOGUE_CHANGED',
}

/** The one key of {@link Topic.CATALOGUE_CHANGED}. */
export const CATALOGUE_KEY = 'all';

/**
 * The payload each topic carries, by topic: JSON-safe, so it crosses Redis unchanged. The modules that
 * publish declare their own (the order module its order topics, the plan module the catalogue's); a bus
 * typed with one module's map is the same bus, seen by that module.
 */
export type TopicPayloads = object;

/** Channel name of one key of a topic (also the Redis channel). */
export const channel = (topic: Topic, key: string): string => `${topic}.${key}`;

/** Stops a listener; safe to call more than once. */
export type Unlisten = () => void;

/** Typed publish/subscribe; in process, or through Redis across instances. */
export interface EventBus<P extends TopicPayloads = Record<Topic, unknown>> {
  /**
   * Publishes to one key of a topic. Never throws and never waits long: it runs after a commit, so a
   * transport failure is reported through the bus's error callback and the caller carries on.
   */
  publish<T extends keyof P & Topic>(topic: T, key: string, payload: P[T]): Promise<void>;
  /**
   * Registers `onEvent` for one key of a topic. Resolves once the transport has confirmed the
   * subscription, so any publish made after it resolves reaches `onEvent`.
   */
  listen<T extends keyof P & Topic>(topic: T, key: string, onEvent: (payload: P[T]) => void): Promise<Unlisten>;
  /**
   * Calls `onReconnect` whenever listeners may have missed events: each time the transport comes back
   * after an outage, and (through Redis) when any instance could not publish an event and can again.
   * Returns a function that removes it.
   */
  onReconnect(onReconnect: () => void): Unlisten;
  /** False while the transport cannot deliver (Redis down). */
  healthy(): boolean;
  close(): Promise<void>;
}

/**
 * The channel on which an instance that could not publish an event says so once it can publish again:
 * every instance, itself included, then re-reads what its subscribers watch, as after losing its own
 * subscribing connection. An event lost that way is the committed state of an order that subscribers on
 * any instance may be waiting for, a final one (cancelled, refunded, delivered) included.
 */
const MISSED_CHANNEL = 'commerce.events-missed';
/** How often an instance that could not publish tries to say so, until it can. */
const MISSED_RETRY_MS = 1_000;

/**
 * How long a publish may wait for Redis before it is given up (and logged): ioredis's own
 * `commandTimeout` on the publishing connection. In process, a publish cannot wait.
 */
const PUBLISH_TIMEOUT_MS = 1_000;

interface Engine {
  publish(trigger: string, payload: unknown): Promise<void>;
  subscribe(trigger: string, onMessage: (payload: unknown) => void): Promise<number>;
  unsubscribe(id: number): void;
}

class Bus<P extends TopicPayloads> implements EventBus<P> {
  private readonly reconnectListeners = new Set<() => void>();

  constructor(
    private readonly engine: Engine,
    private readonly onError: (e: Error) => void,
    private readonly isHealthy: () => boolean,
    private readonly onClose: () => Promise<void>,
  ) {}

  async publish<T extends keyof P & Topic>(topic: T, key: string, payload: P[T]): Promise<void> {
    try {
      await this.engine.publish(channel(topic, key), payload);
    } catch (e) {
      this.onError(new Error(`publish to ${channel(topic, key)} failed: ${(e as Error).message}`));
    }
  }

  async listen<T extends keyof P & Topic>(topic: T, key: string, onEvent: (payload: P[T]) => void): Promise<Unlisten> {
    const id = await this.engine.subscribe(channel(topic, key), (payload) => {
      try {
        onEvent(payload as P[T]);
      } catch (e) {
        this.onError(e as Error);
      }
    });
    let done = false;
    return () => {
      if (done) return;
      done = true;
      try {
        this.engine.unsubscribe(id);
      } catch (e) {
        this.onError(e as Error);
      }
    };
  }

  onReconnect(onReconnect: () => void): Unlisten {
    this.reconnectListeners.add(onReconnect);
    return () => void this.reconnectListeners.delete(onReconnect);
  }

  /** Tells every reconnect listener that events may have been missed. */
  reconnected(): void {
    for (const l of [...this.reconnectListeners]) {
      try {
        l();
      } catch (e) {
        this.onError(e as Error);
      }
    }
  }

  healthy(): boolean {
    return this.isHealthy();
  }

  close(): Promise<void> {
    this.reconnectListeners.clear();
    return this.onClose();
  }
}

/** In-process bus: one instance only. */
export function memoryBus<P extends TopicPayloads = Record<Topic, unknown>>(onError: (e: Error) => void = () => undefined): EventBus<P> {
  // One listener per subscriber on a channel: a customer may follow their orders from many tabs, and
  // Node's default cap of 10 would print a leak warning on the console for the eleventh.
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return new Bus<P>(new MemoryPubSub({ eventEmitter: emitter }), onError, () => true, async () => undefined);
}

/**
 * Redis-backed bus (graphql-redis-subscriptions over two ioredis connections). ioredis reconnects by
 * itself with capped backoff and restores the subscriptions; while Redis is away publishes fail fast
 * and are logged (the change is already committed). A subscribing connection that comes back has its
 * instance's reconnect listeners re-read what they watch; a publish that failed, on this instance or
 * any other, has every instance's listeners do so once it can be said ({@link MISSED_CHANNEL}). So a
 * missed event never leaves a subscriber behind.
 */
export function redisBus<P extends TopicPayloads = Record<Topic, unknown>>(url: string, onError: (e: Error) => void = () => undefined): EventBus<P> {
  const options: RedisOptions = {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    lazyConnect: false,
  };
  // Each publish is written at once, not batched with the tick's others (ioredis's auto-pipelining):
  // that batch leaves only after the event loop has handled every other ready callback, which on a busy
  // instance kept an event from Redis for longer than the rest of its way (see the README's fan-out).
  const publisher = new Redis(url, { ...options, enableAutoPipelining: false, commandTimeout: PUBLISH_TIMEOUT_MS, connectionName: 'commerce-pub' });
  // The subscriber queues its SUBSCRIBE commands while reconnecting, so subscriptions are restored.
  const subscriber = new Redis(url, { ...options, enableOfflineQueue: true, maxRetriesPerRequest: null, connectionName: 'commerce-sub' });
  const reportOnce = (name: string) => {
    let down = false;
    return {
      error: (e: Error) => {
        // ioredis reports every failed reconnection; one line per outage is enough.
        if (!down) onError(new Error(`redis ${name}: ${e.message}`));
        down = true;
      },
      ready: () => (down = false),
    };
  };
  const pubState = reportOnce('publisher');
  const subState = reportOnce('subscriber');
  publisher.on('error', pubState.error).on('ready', pubState.ready);
  subscriber.on('error', subState.error);

  const engine = new RedisPubSub({ publisher, subscriber });
  let closing = false;
  let retry: NodeJS.Timeout | undefined;
  const sayMissed = (): void => {
    if (closing || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      if (!closing) engine.publish(MISSED_CHANNEL, {}).catch(sayMissed);
    }, MISSED_RETRY_MS);
    retry.unref();
  };
  const bus = new Bus<P>(
    {
      publish: (trigger, payload) =>
        engine.publish(trigger, payload).catch((e: unknown) => {
          sayMissed();
          throw e;
        }),
      subscribe: (trigger, onMessage) => engine.subscribe(trigger, onMessage),
      unsubscribe: (id) => engine.unsubscribe(id),
    },
    onError,
    () => publisher.status === 'ready' && subscriber.status === 'ready',
    async () => {
      closing = true;
      clearTimeout(retry);
      // QUIT on a connection that is down (never came up, or reconnecting) would wait for it forever:
      // such a connection is dropped at once, which also stops its reconnection attempts.
      const quit = (r: Redis) => (r.status === 'ready' ? r.quit().then(() => undefined, () => r.disconnect()) : r.disconnect());
      await Promise.all([quit(publisher), quit(subscriber)]);
    },
  );
  engine.subscribe(MISSED_CHANNEL, () => bus.reconnected()).catch((e: Error) => onError(new Error(`redis subscriber: ${e.message}`)));
  let connectedBefore = false;
  subscriber.on('ready', () => {
    subState.ready();
    // ioredis writes the SUBSCRIBE commands that restore the subscriptions before it tells of 'ready':
    // a PING sent now is answered after them, so the re-read starts once every subscription is back.
    if (connectedBefore && !closing) {
      subscriber.ping().then(
        () => bus.reconnected(),
        (e: Error) => onError(new Error(`redis subscriber: ${e.message}`)),
      );
    }
    connectedBefore = true;
  });
  return bus;
}
