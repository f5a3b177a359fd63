import { Check, Entity, Enum, Index, ManyToOne, OneToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { newId } from '../../shared/ids';
import { Customer } from '../customer';
import { DeliveryStatus, Order } from '../order';
import { Plan } from '../plan';

/** The fulfilment of a paid order, created `NEW` in the payment's transaction. */
@Entity({ tableName: 'delivery' })
@Index({ name: 'delivery_provider_status_idx', properties: ['provider', 'status'] })
@Check({ name: 'delivery_attempts_check', expression: 'attempts >= 0' })
export class Delivery {
  [OptionalProps]?: 'status' | 'attempts' | 'provider' | 'createdAt' | 'updatedAt' | 'completedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @OneToOne(() => Order, (o) => o.delivery, { owner: true, unique: 'delivery_order_unique', deleteRule: 'cascade' })
  order: Order;

  /**
   * The plan's provider at payment time; null for automatic delivery. Not a foreign key: every payment
   * of a provider's plans would lock the provider's row. The database checks it otherwise
   * (migrations/Migration20261206080000_DeliveryProviderWithoutLocks.ts).
   */
  @ManyToOne(() => Customer, { nullable: true, createForeignKeyConstraint: false })
  provider: Customer | null = null;

  @Enum({ items: () => DeliveryStatus, default: DeliveryStatus.NEW })
  status: DeliveryStatus = DeliveryStatus.NEW;

  @Property({ type: 'integer', default: 0 })
  attempts: number = 0;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  updatedAt: Date = new Date();

  @Property({ type: 'datetime', nullable: true })
  completedAt: Date | null = null;

  // Inserted by the database function confirm_payment in the payment's transaction (NEW, the plan's
  // provider or none); nothing builds one here, so there is no constructor to pretend otherwise.
}

/** A customer's service period for a plan, started or extended by each completed delivery. */
@Entity({ tableName: 'service_period' })
export class ServicePeriod {
  [OptionalProps]?: 'endsAt' | 'updatedAt';

  @ManyToOne(() => Customer, { primary: true, deleteRule: 'cascade' })
  customer: Customer;

  @ManyToOne(() => Plan, { primary: true, deleteRule: 'cascade' })
  plan: Plan;

  @Property({ type: 'datetime' })
  startsAt: Date;

  /** Null for a one-time service. */
  @Property({ type: 'datetime', nullable: true })
  endsAt: Date | null = null;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  updatedAt: Date = new Date();

  // DeliveryService starts or extends a period with one upsert (ends_at moved from the current end);
  // nothing builds one here, so there is no constructor to pretend otherwise.
}
