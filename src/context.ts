import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from './config';
import type { Principal } from './infra/auth';
import type { Services } from './services';
import { ForbiddenError, UnauthenticatedError } from './shared/errors';
import { Customer, DEFAULT_GROUP, Role } from './modules/customer/customer.entity';
import { planLoaders, type PlanLoaders } from './modules/plan/plan.loaders';
import type { Viewer } from './modules/plan/plan.service';

/** What every resolver gets: the caller, its own EntityManager fork, batch loaders and the services. */
export interface Context {
  requestId: string;
  config: Config;
  services: Services;
  /** A fork of the ORM's EntityManager used by this request alone. */
  em: EntityManager;
  /** The verified token's subject and role, or null for an anonymous caller. */
  principal: Principal | null;
  loaders: PlanLoaders;
  /** The caller's customer row (created on first use); UNAUTHENTICATED without a token. */
  customer(): Promise<Customer>;
  /** The caller's customer id, the row created on first use; cheaper than {@link customer} when the id is all that is needed. */
  customerId(): Promise<string>;
  /** A new EntityManager fork, for work outliving the request's own unit of work (a subscription's reads). */
  fork(): EntityManager;
  /** The caller's customer row if it is an admin; FORBIDDEN otherwise. */
  requireAdmin(): Promise<Customer>;
  /** The catalogue viewpoint: an anonymous caller sees the `default` group. */
  viewer(): Promise<Viewer>;
}

/**
 * Builds a request's context. `principal` comes from a token verified beforehand. The EntityManager fork
 * and the loaders are made on first use: a listing answered from memory needs neither.
 */
export function createContext(opts: {
  requestId: string;
  config: Config;
  services: Services;
  fork: () => EntityManager;
  principal: Principal | null;
}): Context {
  return new RequestContext(opts.requestId, opts.config, opts.services, opts.principal, opts.fork);
}

/**
 * The lazy parts are getters on the prototype, not own properties: Apollo copies a request's context
 * (Object.assign) before executing it, which would call own getters and build everything up front.
 */
class RequestContext implements Context {
  private forked: EntityManager | undefined;
  private batch: PlanLoaders | undefined;
  private caller: Promise<Customer> | undefined;

  constructor(
    readonly requestId: string,
    readonly config: Config,
    readonly services: Services,
    readonly principal: Principal | null,
    private readonly forkRoot: () => EntityManager,
  ) {}

  get em(): EntityManager {
    return (this.forked ??= this.forkRoot());
  }

  get loaders(): PlanLoaders {
    return (this.batch ??= planLoaders(this.em));
  }

  customer(): Promise<Customer> {
    if (!this.principal) return Promise.reject(new UnauthenticatedError());
    return (this.caller ??= this.services.customers.ensure(this.em, this.principal));
  }

  async customerId(): Promise<string> {
    if (!this.principal) throw new UnauthenticatedError();
    if (this.caller) return (await this.caller).id;
    return this.services.customers.ensureId(this.em, this.principal);
  }

  fork(): EntityManager {
    return this.forkRoot();
  }

  async requireAdmin(): Promise<Customer> {
    const c = await this.customer();
    if (this.principal?.role !== Role.ADMIN) throw new ForbiddenError('Admins only');
    return c;
  }

  async viewer(): Promise<Viewer> {
    if (!this.principal) return { group: DEFAULT_GROUP, role: null, customerId: null };
    const c = await this.customer();
    return { group: c.group, role: this.principal.role, customerId: c.id };
  }
}
