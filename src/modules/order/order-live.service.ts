import type { EntityManager } from '@mikro-orm/postgresql';
import { Topic, type EventBus, type Unlisten } from '../../infra/pubsub';
import { Role, type Principal } from '../../shared/caller';
import { ForbiddenError, NotFoundError } from '../../shared/errors';
import { isUuid } from '../../shared/ids';
import type { OrderTopics } from './order.events';
import { orderLifecycle } from './order.fsm';
import { readSnapshots, type OrderSnapshot } from './order.snapshot';

/** Reads an order as committed, its delivery included (the delivery module's service does). */
export interface OrderLookup {
  snapshot(em: EntityManager, orderId: string): Promise<OrderSnapshot | null>;
}

/** Longer than any transaction runs (statements time out after 30 s): see {@link OrderLiveService.watchCustomer}. */
const CREATED_MARGIN_SECONDS = 120;

/** Most snapshots a slow subscriber may have waiting; beyond it only the latest of each order is kept. */
const MAX_BUFFERED = 500;

/**
 * How long a change that arrived ahead of the one before it waits for that one: an instance may publish
 * a moment after another that committed the next change of the same order published its own.
 */
const GAP_WAIT_MS = 500;

/** Orders, or customers, one query of a catch-up reads (see {@link OrderLiveService.catchUp}). */
const CATCH_UP_BATCH = 500;
/** Most orders one query of a catch-up of customers names by id (what their feeds know). */
const CATCH_UP_IDS = 5_000;

/** What a catch-up re-reads for one `myOrdersUpdated` feed: see {@link OrderLiveService.watchCustomer}. */
interface CustomerWatch {
  customerId: string;
  /** Orders created from then on (ms since the epoch) are re-read, besides the ones the feed knows. */
  sinceMs: number;
  em: () => EntityManager;
}

/**
 * A subscriber's feed of order snapshots: pushed by the bus, pulled by graphql-ws. It forwards a
 * snapshot only when its version is above the last one sent for that order, so a subscriber never
 * sees a duplicate or an older state, whatever order events arrive in. A change that arrives ahead of
 * the one before it (every change raises the version by one) is held until that one arrives, for up to
 * {@link GAP_WAIT_MS}, so every change goes out in version order. A re-read after missed events
 * ({@link catchUp}) also skips what the subscriber is taken to have had when it subscribed ({@link know});
 * an event never does, since its change may have committed after the subscription started listening
 * yet before that state was read. `return()` (client complete, socket closed) removes its listeners at
 * once.
 */
export class OrderFeed implements AsyncIterableIterator<OrderSnapshot> {
  private queue: OrderSnapshot[] = [];
  private waiting: ((r: IteratorResult<OrderSnapshot>) => void) | null = null;
  /** Per order, the last version sent. */
  private readonly lastVersion = new Map<string, number>();
  /** Per order, the version the subscriber is taken to have had when it subscribed (never sent). */
  private readonly knownVersion = new Map<string, number>();
  /** Per order, changes that arrived ahead of the one before them, by version, until it comes or the wait ends. */
  private readonly early = new Map<string, { held: Map<number, OrderSnapshot>; timer: NodeJS.Timeout }>();
  private readonly stops: Unlisten[] = [];
  private closed = false;

  /** Registers what `return()` must undo; undone at once if the feed is already closed. */
  onClose(stop: Unlisten): void {
    if (this.closed) stop();
    else this.stops.push(stop);
  }

  /** Records the versions the subscriber is taken to have had when it subscribed, without sending them. */
  know(versions: ReadonlyArray<{ id: string; version: number }>): void {
    for (const { id, version } of versions) this.knownVersion.set(id, Math.max(version, this.knownVersion.get(id) ?? 0));
  }

  /** The orders this feed has sent or was told of. */
  knownIds(): string[] {
    return [...new Set([...this.knownVersion.keys(), ...this.lastVersion.keys()])];
  }

  /** Whether this feed has sent `orderId` or was told of it. */
  knows(orderId: string): boolean {
    return this.lastVersion.has(orderId) || this.knownVersion.has(orderId);
  }

  /**
   * An event: sent unless that version or a later one of its order was; held while the change before it
   * is missing. An order the feed neither sent nor knew of is one created since it subscribed (it knows
   * every order that can still change), so its changes are awaited from version 1.
   */
  offer(s: OrderSnapshot): void {
    if (this.closed) return;
    if (s.version > (this.lastOrKnown(s.id) ?? 0) + 1) {
      this.hold(s);
      return;
    }
    this.forward(s, this.lastVersion.get(s.id) ?? 0);
    this.release(s.id);
  }

  /**
   * A state read by the feed's owner (the first one of an order watched, or a re-read after events may
   * have been missed): sent only if newer than what the subscriber has or had, never held.
   */
  catchUp(s: OrderSnapshot): void {
    this.forward(s, Math.max(this.lastVersion.get(s.id) ?? 0, this.knownVersion.get(s.id) ?? 0));
    this.release(s.id);
  }

  /** The later of the version last sent and the one the subscriber had when it subscribed; null for an order it has neither of. */
  private lastOrKnown(orderId: string): number | null {
    const sent = this.lastVersion.get(orderId);
    const known = this.knownVersion.get(orderId);
    return sent === undefined && known === undefined ? null : Math.max(sent ?? 0, known ?? 0);
  }

  private hold(s: OrderSnapshot): void {
    let early = this.early.get(s.id);
    if (!early) {
      early = { held: new Map(), timer: setTimeout(() => this.giveUpWaiting(s.id), GAP_WAIT_MS) };
      early.timer.unref();
      this.early.set(s.id, early);
    }
    early.held.set(s.version, s);
  }

  /** Sends the held changes of `orderId` that are next in line now, and forgets those already passed. */
  private release(orderId: string): void {
    const early = this.early.get(orderId);
    if (!early) return;
    const last = () => this.lastOrKnown(orderId) ?? 0;
    for (let next = early.held.get(last() + 1); next; next = early.held.get(last() + 1)) {
      early.held.delete(next.version);
      this.forward(next, this.lastVersion.get(orderId) ?? 0);
    }
    for (const version of [...early.held.keys()]) if (version <= last()) early.held.delete(version);
    if (early.held.size === 0) {
      clearTimeout(early.timer);
      this.early.delete(orderId);
    }
  }

  /** The change waited for did not come: what is held goes out in version order. */
  private giveUpWaiting(orderId: string): void {
    const early = this.early.get(orderId);
    if (!early) return;
    this.early.delete(orderId);
    for (const version of [...early.held.keys()].sort((a, b) => a - b)) this.forward(early.held.get(version)!, this.lastVersion.get(orderId) ?? 0);
  }

  private forward(s: OrderSnapshot, above: number): void {
    if (this.closed || s.version <= above) return;
    this.lastVersion.set(s.id, s.version);
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w({ value: s, done: false });
      return;
    }
    this.queue.push(s);
    if (this.queue.length > MAX_BUFFERED) {
      const latest = new Map(this.queue.map((q) => [q.id, q]));
      this.queue = [...latest.values()];
    }
  }

  next(): Promise<IteratorResult<OrderSnapshot>> {
    const head = this.queue.shift();
    if (head) return Promise.resolve({ value: head, done: false });
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiting = resolve));
  }

  return(): Promise<IteratorResult<OrderSnapshot>> {
    if (!this.closed) {
      this.closed = true;
      this.queue = [];
      for (const { timer } of this.early.values()) clearTimeout(timer);
      this.early.clear();
      for (const stop of this.stops.splice(0)) stop();
      const w = this.waiting;
      this.waiting = null;
      w?.({ value: undefined, done: true });
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(e: unknown): Promise<IteratorResult<OrderSnapshot>> {
    void this.return();
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the iterator protocol rejects with the value given to throw(), whatever it is
    return Promise.reject(e);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** Live order feeds for `orderUpdated` and `myOrdersUpdated`, on this instance's event bus. */
export class OrderLiveService {
  /**
   * This instance's `orderUpdated` feeds by order, with how to read (every subscription's EntityManager
   * is a fork of the same ORM): re-read together when events may have been missed.
   */
  private readonly watched = new Map<string, { feeds: Set<OrderFeed>; em: () => EntityManager }>();
  /** This instance's `myOrdersUpdated` feeds, with what a catch-up re-reads for each. */
  private readonly customerFeeds = new Map<OrderFeed, CustomerWatch>();
  private stopCatchingUp: Unlisten | null = null;

  constructor(
    private readonly bus: EventBus<OrderTopics>,
    private readonly deliveries: OrderLookup,
  ) {}

  /** Whether `caller` may watch the order: its customer, the plan's provider, or an admin. */
  static mayWatch(caller: Principal, o: OrderSnapshot): boolean {
    return caller.role === Role.ADMIN || caller.sub === o.customerId || (o.providerId !== null && caller.sub === o.providerId);
  }

  /**
   * `orderUpdated`: checks the caller may watch the order (NOT_FOUND / FORBIDDEN otherwise, before
   * anything is sent), listens to its customer's order changes, and only then reads the current state,
   * which goes out first; every later committed change follows in version order. When the bus comes back from
   * an outage the state is read again, so an event lost meanwhile never leaves the subscriber behind.
   */
  async watchOrder(em: () => EntityManager, caller: Principal, orderId: string): Promise<OrderFeed> {
    const found = isUuid(orderId) ? await this.deliveries.snapshot(em(), orderId) : null;
    if (!found) throw new NotFoundError('No such order');
    if (!OrderLiveService.mayWatch(caller, found)) throw new ForbiddenError('You may not watch this order');

    const feed = new OrderFeed();
    try {
      // Changes are published to the customer's key (an order never changes customer); this feed keeps its order's.
      const ofThisOrder = (s: OrderSnapshot) => {
        if (s.id === orderId) feed.offer(s);
      };
      feed.onClose(await this.bus.listen(Topic.CUSTOMER_ORDERS_UPDATED, found.customerId, ofThisOrder));
      feed.onClose(this.watch(orderId, feed, em));
      // The state read now goes out first: a change that arrived before it is held until it is sent.
      const now = await this.deliveries.snapshot(em(), orderId);
      if (now) feed.catchUp(now);
    } catch (e) {
      await feed.return();
      throw e;
    }
    return feed;
  }

  /** Adds an `orderUpdated` feed to those a catch-up re-reads; returns what removes it. */
  private watch(orderId: string, feed: OrderFeed, em: () => EntityManager): Unlisten {
    const entry = this.watched.get(orderId) ?? { feeds: new Set<OrderFeed>(), em };
    entry.feeds.add(feed);
    this.watched.set(orderId, entry);
    this.catchUpOnReconnect();
    return () => {
      entry.feeds.delete(feed);
      if (entry.feeds.size === 0 && this.watched.get(orderId) === entry) this.watched.delete(orderId);
    };
  }

  /** Adds a `myOrdersUpdated` feed to those a catch-up re-reads; returns what removes it. */
  private watchForCustomer(feed: OrderFeed, watch: CustomerWatch): Unlisten {
    this.customerFeeds.set(feed, watch);
    this.catchUpOnReconnect();
    return () => void this.customerFeeds.delete(feed);
  }

  private catchUpOnReconnect(): void {
    this.stopCatchingUp ??= this.bus.onReconnect(() => void this.catchUp());
  }

  /**
   * Re-reads what this instance's feeds follow and sends each feed what is newer than what it sent:
   * every order the `orderUpdated` feeds watch, {@link CATCH_UP_BATCH} to a query, then the orders of the
   * `myOrdersUpdated` feeds' customers, {@link CATCH_UP_BATCH} customers to a query. Events may have been
   * missed by all of them at once (Redis came back, an instance could not publish): one query per
   * subscriber would take the whole connection pool for as long as thousands of reads last.
   */
  async catchUp(): Promise<void> {
    await this.catchUpOrders();
    await this.catchUpCustomers();
  }

  private async catchUpOrders(): Promise<void> {
    const ids = [...this.watched.keys()];
    for (let i = 0; i < ids.length; i += CATCH_UP_BATCH) {
      const batch = ids.slice(i, i + CATCH_UP_BATCH);
      const em = batch.map((id) => this.watched.get(id)?.em).find((e) => e !== undefined);
      if (!em) continue;
      try {
        for (const s of await readSnapshots(em(), { id: { $in: batch } })) for (const feed of this.watched.get(s.id)?.feeds ?? []) feed.catchUp(s);
      } catch {
        // The database is away too: the next outage's end, or the subscriber's reconnection, reads again.
      }
    }
  }

  /**
   * For each `myOrdersUpdated` feed, what its own re-read would read (the orders it knows, and its
   * customer's orders created since its `since`), read for a batch of customers at once: the batch's
   * query reads the union, and each feed is sent only the rows its own re-read would have read.
   */
  private async catchUpCustomers(): Promise<void> {
    // Per customer: its feeds with their `since`, what they know, and a way to read.
    const customers = new Map<string, { feeds: Array<[OrderFeed, number]>; ids: string[]; em: () => EntityManager }>();
    for (const [feed, watch] of this.customerFeeds) {
      const entry = customers.get(watch.customerId) ?? { feeds: [], ids: [], em: watch.em };
      entry.feeds.push([feed, watch.sinceMs]);
      entry.ids.push(...feed.knownIds());
      customers.set(watch.customerId, entry);
    }
    // A batch also ends at CATCH_UP_IDS orders known to its feeds, which its query names one by one.
    const batches: string[][] = [];
    let named = 0;
    for (const [customerId, { ids }] of customers) {
      const last = batches[batches.length - 1];
      if (last && last.length < CATCH_UP_BATCH && named + ids.length <= CATCH_UP_IDS) {
        last.push(customerId);
        named += ids.length;
      } else {
        batches.push([customerId]);
        named = ids.length;
      }
    }
    for (const batch of batches) {
      const entries = batch.map((c) => customers.get(c)!);
      const ids = [...new Set(entries.flatMap((e) => e.ids))];
      const since = new Date(Math.min(...entries.flatMap((e) => e.feeds.map(([, sinceMs]) => sinceMs))));
      try {
        const where = { customer: { $in: batch }, $or: [...(ids.length ? [{ id: { $in: ids } }] : []), { createdAt: { $gte: since } }] };
        for (const s of await readSnapshots(entries[0].em(), where)) {
          for (const [feed, sinceMs] of customers.get(s.customerId)?.feeds ?? []) if (feed.knows(s.id) || Date.parse(s.createdAt) >= sinceMs) feed.catchUp(s);
        }
      } catch {
        // As for the orders above.
      }
    }
  }

  /**
   * `myOrdersUpdated`: every committed change of the caller's own orders, each order in version order.
   * Once subscribed it notes the versions of the caller's orders that can still change; when the bus
   * comes back from an outage it re-reads those, the ones it has seen since and the ones created since
   * it subscribed, and sends whatever changed meanwhile (with every other feed's, see {@link catchUp}).
   */
  async watchCustomer(em: () => EntityManager, caller: Principal): Promise<OrderFeed> {
    const feed = new OrderFeed();
    try {
      feed.onClose(await this.bus.listen(Topic.CUSTOMER_ORDERS_UPDATED, caller.sub, (s) => feed.offer(s)));
      // An order's created_at is its transaction's start, which may precede this read by as long as a
      // transaction runs: orders created within that margin count as seen now and are re-read later.
      // `since` in whole milliseconds, rounded down: a re-read from it reads every order the moment itself would.
      const [baseline] = await em().execute<{ since_ms: string; seen: Array<{ id: string; version: number }> }[]>(
        `select floor(extract(epoch from now() - make_interval(secs => ?)) * 1000)::bigint as since_ms,
                coalesce(json_agg(json_build_object('id', id, 'version', version)) filter (where id is not null), '[]') as seen
           from "order"
          where customer_id = ? and (status in (?) or created_at >= now() - make_interval(secs => ?))`,
        [CREATED_MARGIN_SECONDS, caller.sub, orderLifecycle.open(), CREATED_MARGIN_SECONDS],
      );
      feed.know(baseline.seen);
      feed.onClose(this.watchForCustomer(feed, { customerId: caller.sub, sinceMs: Number(baseline.since_ms), em }));
    } catch (e) {
      await feed.return();
      throw e;
    }
    return feed;
  }
}
