import type { EntityManager } from '@mikro-orm/postgresql';

/** What a token's `role` claim may say. */
export enum Role {
  CUSTOMER = 'customer',
  PROVIDER = 'provider',
  ADMIN = 'admin',
}

/** Who is calling, as proven by a verified token. */
export interface Principal {
  /** The customer id (`sub`). */
  sub: string;
  role: Role;
}

/** What the catalogue shows a caller depends on: its group, its role, its id (null for an anonymous caller). */
export interface Viewer {
  group: string;
  role: Role | null;
  customerId: string | null;
}

/** The caller's customer row as every module may read it (the customer module has the whole entity). */
export interface CallerCustomer {
  id: string;
  group: string;
  role: Role;
}

/**
 * What every resolver gets: the caller, its own EntityManager fork, and `services`, the slice of the
 * domain services its module uses. Each module names its slice (`CallerContext<{ orders: OrderService }>`)
 * and, when it reads more of the caller's row, its type (`C`); only src/context.ts builds the whole
 * object, so no module depends on the wiring of all the others.
 */
export interface CallerContext<S = unknown, C extends CallerCustomer = CallerCustomer> {
  requestId: string;
  /** The settings a resolver reads (the whole configuration in src/context.ts). */
  config: { readonly currency: string };
  services: S;
  /** A fork of the ORM's EntityManager used by this request alone. */
  em: EntityManager;
  /**
   * The ORM's root EntityManager, for reads that build no entity (a page of orders read as rows): they
   * need no unit of work of their own, and forking one per request was a visible part of such a read's cost.
   */
  reader: EntityManager;
  /** The verified token's subject and role, or null for an anonymous caller. */
  principal: Principal | null;
  /** The caller's customer row (created on first use); UNAUTHENTICATED without a token. */
  customer(): Promise<C>;
  /** The caller's customer id, the row created on first use; cheaper than {@link customer} when the id is all that is needed. */
  customerId(): Promise<string>;
  /** A new EntityManager fork, for work outliving the request's own unit of work (a subscription's reads). */
  fork(): EntityManager;
  /**
   * Starts a new unit of reads: the next use of {@link em} forks anew, and the per-request loaders (the
   * catalogue's, an order's history and records), which cache by the fork, start empty. A subscription
   * runs one context for all its events, so each event calls this before its fields resolve: each is
   * then read as committed when it is sent, not from the first event's caches.
   */
  freshReads(): void;
  /** The caller's customer row if it is an admin; FORBIDDEN otherwise. */
  requireAdmin(): Promise<C>;
  /** The catalogue viewpoint: an anonymous caller sees the `default` group. */
  viewer(): Promise<Viewer>;
}
