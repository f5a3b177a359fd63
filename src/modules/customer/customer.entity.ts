import { Check, Entity, Enum, Index, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { Role } from '../../shared/caller';

/** The group of new customers, and the one anonymous callers browse as. */
export const DEFAULT_GROUP = 'default';

/** Every caller with a token is a customer row, created on first use in group `default`. */
@Entity({ tableName: 'customer' })
@Check({ name: 'customer_unpaid_orders_check', expression: 'unpaid_orders >= 0' })
@Index({ name: 'customer_group_idx', properties: ['group', 'id'] })
// Serves `customers(search)`: an id containing a text, any case (trigram GIN; pg_trgm).
@Index({ name: 'customer_id_trgm_idx', expression: 'create index "customer_id_trgm_idx" on "customer" using gin ("id" gin_trgm_ops)' })
export class Customer {
  [OptionalProps]?: 'group' | 'unpaidOrders' | 'createdAt';

  /** The token's `sub`. */
  @PrimaryKey({ type: 'string', length: 64 })
  id: string;

  @Property({ type: 'string', length: 64, fieldName: 'customer_group' })
  group: string = DEFAULT_GROUP;

  /** The role of the last token seen for this customer. */
  @Enum({ items: () => Role, nativeEnumName: undefined })
  role: Role;

  /** Live count of PENDING orders; a guarded update keeps it within MAX_UNPAID_ORDERS. */
  @Property({ type: 'integer' })
  unpaidOrders: number = 0;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  // CustomerService inserts the row on a caller's first request (insert ... where not exists, racing
  // requests safe); nothing builds one here, so there is no constructor to pretend otherwise.
}
