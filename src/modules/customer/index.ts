/** Customers: a row per token subject, grouped by admins; the caller's own account. */
import { Customer } from './customer.entity';
import { CustomerResolver } from './customer.resolver';

export { Customer, DEFAULT_GROUP } from './customer.entity';
export { CustomerService, type BalanceReader, type GroupChangeListener } from './customer.service';
export { CustomerType } from './customer.types';
export { customerGroupOf, giveBackUnpaidSlots, takeUnpaidSlot } from './unpaid-orders';
export { CustomerResolver };

/** The module's entities, for the ORM. */
export const entities = [Customer];
/** The module's resolvers, for the schema. */
export const resolvers = [CustomerResolver] as const;
