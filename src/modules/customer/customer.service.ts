import type { EntityManager } from '@mikro-orm/postgresql';
import { LRUCache } from 'lru-cache';
import type { Principal, Role } from '../../shared/caller';
import { decodeKeyCursor, encodeKeyCursor, pageRequest } from '../../shared/cursor';
import { NotFoundError } from '../../shared/errors';
import { query, sql } from '../../shared/sql';
import { pageOf, type Page } from '../../shared/types';
import { unitOfWork, type AfterCommit } from '../../shared/unit-of-work';
import { AuditTargetType, type AuditService } from '../audit';
import { Customer } from './customer.entity';

/**
 * Told, inside the transaction that moves a customer to another group, that it did: the catalogue
 * (the plan module, which sits above this one) forgets the group it remembered for that customer.
 */
export interface GroupChangeListener {
  customerGroupChanged(after: AfterCommit, customerId: string): void;
}

/** A customer's wallet balance in minor units (the wallet module, which sits above this one, keeps it). */
export interface BalanceReader {
  balance(em: EntityManager, customerId: string): Promise<number>;
}

interface CustomerRow {
  id: string;
  customer_group: string;
  role: Role;
  unpaid_orders: number;
  created_at: Date;
}

/** A customer as the back office lists it: the row and the wallet balance (minor units). */
export interface CustomerView {
  id: string;
  group: string;
  role: Role;
  createdAt: Date;
  balance: number;
}

/** One page of the back office's customer list. */
export type CustomerPage = Page<CustomerView>;

/** `%`, `_` and the escape character itself, taken literally in a LIKE pattern. */
const likeLiteral = (text: string): string => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** Customers: created on first authenticated use, grouped by admins. */
export class CustomerService {
  /**
   * Customers whose row this process has seen recently, with the token role it was seen with, so a
   * request that needs the caller's id alone does not write the row again. A minute bounds how long the
   * stored role can lag a role change made through another instance.
   */
  private readonly seen = new LRUCache<string, Role>({ max: 50_000, ttl: 60_000 });

  constructor(
    private readonly groupChanges: GroupChangeListener,
    /** Group changes are recorded in the audit log. */
    private readonly audits: AuditService,
  ) {}

  /**
   * The caller's customer id, after making sure the row exists (see {@link ensure}). `em` is asked for
   * only when this process has not seen the row lately, so a request that reads without entities forks
   * no EntityManager for it.
   */
  async ensureId(em: () => EntityManager, principal: Principal): Promise<string> {
    if (this.seen.get(principal.sub) === principal.role) return principal.sub;
    return (await this.ensureRow(em(), principal)).id;
  }

  /**
   * The caller's customer row, created in group `default` on first use, safe when first requests race:
   * the insert conflicts on the key and the existing row is returned instead. The stored role follows
   * the latest token. One statement; a known customer whose token says the stored role is only read,
   * never written or locked (`on conflict do update` locks the row even when its `where` skips the update).
   */
  async ensure(em: EntityManager, principal: Principal): Promise<Customer> {
    return em.map(Customer, await this.ensureRow(em, principal));
  }

  /** {@link ensure}'s statement, its row as read: a caller that needs the id alone builds no entity. */
  private async ensureRow(em: EntityManager, principal: Principal): Promise<CustomerRow> {
    let rows = await query<CustomerRow>(
      em,
      sql`with cur as (
            select id, customer_group, role, unpaid_orders, created_at from customer where id = ${principal.sub} and role = ${principal.role}),
          ins as (
            insert into customer (id, role) select ${principal.sub}, ${principal.role} where not exists (select 1 from cur)
            on conflict (id) do update set role = excluded.role where customer.role <> excluded.role
            returning id, customer_group, role, unpaid_orders, created_at)
          select * from cur
          union all
          select * from ins`,
      { prepared: true },
    );
    if (rows.length === 0) {
      // The row was committed by a racing request after this statement's snapshot was taken (a first
      // request, or one that stored this role): the conflict waited for it and skipped the update, but
      // this statement cannot read it. A new statement does.
      rows = await query<CustomerRow>(em, sql`select id, customer_group, role, unpaid_orders, created_at from customer where id = ${principal.sub}`, { prepared: true });
    }
    this.seen.set(principal.sub, principal.role);
    return rows[0];
  }

  /**
   * Admin: moves a customer into a group; the catalogue shows them its plans from then on. Recorded in
   * the audit log as done by `actor`, with the group it left.
   */
  async setGroup(em: EntityManager, customerId: string, group: string, actor: string): Promise<Customer> {
    return unitOfWork(em, async (tx, after) => {
      const customer = await tx.findOne(Customer, { id: customerId });
      if (!customer) throw new NotFoundError('No such customer');
      await this.audits.record(tx, { actor, action: 'setCustomerGroup', targetType: AuditTargetType.CUSTOMER, targetId: customerId, details: { group, previousGroup: customer.group } });
      customer.group = group;
      this.groupChanges.customerGroupChanged(after, customerId);
      return customer;
    });
  }

  /**
   * Admin: customers whose id contains `search` (any case; `%` and `_` taken literally) and who are in
   * `group`, by id, with their wallet balance, by keyset pagination on the id: pages stay stable while
   * customers are added. `first` 1 to 100, default 20; `after` a cursor of this list (BAD_USER_INPUT
   * otherwise). A group is served by `customer_group_idx` (group, id); a search by the primary key read
   * in order, or by `customer_id_trgm_idx` when few ids contain it (the planner weighs the two).
   */
  async search(em: EntityManager, args: { search?: string | null; group?: string | null; first?: number | null; after?: string | null }): Promise<CustomerPage> {
    const { first, after } = pageRequest(args, decodeKeyCursor);
    const where: string[] = [];
    const params: unknown[] = [];
    if (args.search) {
      where.push(`c.id ilike ? escape '\\'`);
      params.push(`%${likeLiteral(args.search)}%`);
    }
    if (args.group != null) {
      where.push('c.customer_group = ?');
      params.push(args.group);
    }
    if (after !== null) {
      where.push('c.id > ?');
      params.push(after);
    }
    params.push(first + 1);
    const rows = await em.execute<Array<Omit<CustomerRow, 'unpaid_orders'> & { balance: string | null }>>(
      `select c.id, c.customer_group, c.role, c.created_at, w.balance
         from customer c left join wallet w on w.customer_id = c.id
        ${where.length ? `where ${where.join(' and ')}` : ''}
        order by c.id
        limit ?`,
      params,
    );
    return pageOf(rows, first, (r) => ({
      cursor: encodeKeyCursor(r.id),
      node: { id: r.id, group: r.customer_group, role: r.role, createdAt: new Date(r.created_at), balance: r.balance === null ? 0 : Number(r.balance) },
    }));
  }
}
