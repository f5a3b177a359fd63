import type { EntityManager } from '@mikro-orm/postgresql';
import { LRUCache } from 'lru-cache';
import type { Principal } from '../../infra/auth';
import { NotFoundError } from '../../shared/errors';
import { unitOfWork } from '../../shared/unit-of-work';
import type { PlanService } from '../plan/plan.service';
import { Customer, Role } from './customer.entity';

interface CustomerRow {
  id: string;
  customer_group: string;
  role: Role;
  unpaid_orders: number;
  created_at: Date;
}

/** Customers: created on first authenticated use, grouped by admins. */
export class CustomerService {
  /**
   * Customers whose row this process has seen recently, with the token role it was seen with, so a
   * request that needs the caller's id alone does not write the row again. A minute bounds how long the
   * stored role can lag a role change made through another instance.
   */
  private readonly seen = new LRUCache<string, Role>({ max: 50_000, ttl: 60_000 });

  constructor(private readonly plans: PlanService) {}

  /** The caller's customer id, after making sure the row exists (see {@link ensure}). */
  async ensureId(em: EntityManager, principal: Principal): Promise<string> {
    if (this.seen.get(principal.sub) === principal.role) return principal.sub;
    return (await this.ensure(em, principal)).id;
  }

  /**
   * The caller's customer row, created in group `default` on first use, safe when first requests race:
   * the insert conflicts on the key and the existing row is returned instead. The stored role follows
   * the latest token.
   */
  async ensure(em: EntityManager, principal: Principal): Promise<Customer> {
    let rows = await em.execute<CustomerRow[]>(
      `with ins as (
         insert into customer (id, role) values (?, ?)
         on conflict (id) do update set role = excluded.role where customer.role <> excluded.role
         returning id, customer_group, role, unpaid_orders, created_at)
       select * from ins
       union all
       select id, customer_group, role, unpaid_orders, created_at from customer
        where id = ? and not exists (select 1 from ins)`,
      [principal.sub, principal.role, principal.sub],
    );
    if (rows.length === 0) {
      // The row was committed by a racing first request after this statement's snapshot was taken:
      // the conflict waited for it, but the fallback read could not see it. A new statement does.
      rows = await em.execute<CustomerRow[]>(`select id, customer_group, role, unpaid_orders, created_at from customer where id = ?`, [principal.sub]);
    }
    this.seen.set(principal.sub, principal.role);
    return em.map(Customer, rows[0]);
  }

  /** Admin: moves a customer into a group; the catalogue shows them its plans from then on. */
  async setGroup(em: EntityManager, customerId: string, group: string): Promise<Customer> {
    return unitOfWork(em, async (tx, after) => {
      const customer = await tx.findOne(Customer, { id: customerId });
      if (!customer) throw new NotFoundError('No such customer');
      customer.group = group;
      this.plans.customerGroupChanged(after, customerId);
      return customer;
    });
  }
}
