import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from './config';
import { DEFAULT_GROUP, type Customer } from './modules/customer';
import { planLoaders, type PlanLoaders } from './modules/plan';
import type { Services } from './services';
import { Role, type CallerContext, type Principal, type Viewer } from './shared/caller';
import { ForbiddenError, UnauthenticatedError } from './shared/errors';

/**
 * The whole context, built here only: every module's resolvers take the slice they need
 * ({@link CallerContext} with their own services), which this object satisfies.
 */
export interface Context extends CallerContext<Services, Customer> {
  config: Config;
  /** Batch loaders of the catalogue (the plan module's). */
  loaders: PlanLoaders;
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
  root: EntityManager;
  principal: Principal | null;
}): Context {
  return new RequestContext(opts.requestId, opts.config, opts.services, opts.principal, opts.fork, opts.root);
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
    readonly reader: EntityManager,
  ) {}

  get em(): EntityManager {
    return (this.forked ??= this.forkRoot());
  }

  get loaders(): PlanLoaders {
    return (this.batch ??= planLoaders(() => this.em, this.services.plans));
  }

  customer(): Promise<Customer> {
    if (!this.principal) return Promise.reject(new UnauthenticatedError());
    return (this.caller ??= this.services.customers.ensure(this.em, this.principal));
  }

  async customerId(): Promise<string> {
    if (!this.principal) throw new UnauthenticatedError();
    if (this.caller) return (await this.caller).id;
    return this.services.customers.ensureId(() => this.em, this.principal);
  }

  fork(): EntityManager {
    return this.forkRoot();
  }

  freshReads(): void {
    this.forked = undefined;
    this.batch = undefined;
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
