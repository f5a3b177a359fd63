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
  /** The caller's customer row if it is an admin; FORBIDDEN otherwise. */
  requireAdmin(): Promise<Customer>;
  /** The catalogue viewpoint: an anonymous caller sees the `default` group. */
  viewer(): Promise<Viewer>;
}

/** Builds a request's context. `principal` comes from a token verified beforehand. */
export function createContext(opts: {
  requestId: string;
  config: Config;
  services: Services;
  em: EntityManager;
  principal: Principal | null;
}): Context {
  const { em, principal, services } = opts;
  let customer: Promise<Customer> | undefined;
  const ctx: Context = {
    ...opts,
    loaders: planLoaders(em),
    customer() {
      if (!principal) return Promise.reject(new UnauthenticatedError());
      customer ??= services.customers.ensure(em, principal);
      return customer;
    },
    async requireAdmin() {
      const c = await ctx.customer();
      if (principal?.role !== Role.ADMIN) throw new ForbiddenError('Admins only');
      return c;
    },
    async viewer() {
      if (!principal) return { group: DEFAULT_GROUP, role: null, customerId: null };
      const c = await ctx.customer();
      return { group: c.group, role: principal.role, customerId: c.id };
    },
  };
  return ctx;
}
