import { ArrayType, Check, Entity, Enum, Index, ManyToOne, OneToOne, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { newId } from '../../shared/ids';
import { Coupon } from '../coupon';
import { Customer } from '../customer';
import { Plan } from '../plan';
import type { OrderDelivery } from './order.delivery';

/** An upgrade as bought: its name and price when the order was made. */
export interface BoughtUpgrade {
  id: string;
  name: string;
  /** Minor units. */
  price: number;
}

export enum OrderStatus {
  PENDING = 'PENDING',
  PAID = 'PAID',
  DELIVERED = 'DELIVERED',
  CANCELLED = 'CANCELLED',
  REFUNDED = 'REFUNDED',
}

export enum CancelReason {
  CUSTOMER = 'CUSTOMER',
  ADMIN = 'ADMIN',
  TIMEOUT = 'TIMEOUT',
}

export enum PaymentMethod {
  WALLET = 'WALLET',
  GATEWAY = 'GATEWAY',
}

/**
 * A purchase whose amounts are locked at creation. `version` grows by exactly one with every committed
 * change of the order or its delivery; status changes go through the order state machine only.
 */
@Entity({ tableName: 'order' })
// Only orders with a key: most have none, and each entry is written again by every status change.
@Unique({
  name: 'order_customer_idempotency_unique',
  expression: `create unique index "order_customer_idempotency_unique" on "order" ("customer_id", "idempotency_key") where "idempotency_key" is not null`,
})
// A customer's orders, with or without a status (see migrations/Migration20261206040000_LeanerWriteIndexes.ts).
@Index({ name: 'order_customer_created_idx', properties: ['customer', 'createdAt', 'id'] })
// The admin order list without a customer, plan or status filter (see order-search.ts for why UTC).
@Index({ name: 'order_created_utc_idx', expression: `create index "order_created_utc_idx" on "order" ((created_at at time zone 'UTC'), "id")` })
@Index({ name: 'order_status_created_idx', properties: ['status', 'createdAt', 'id'] })
@Index({ name: 'order_plan_created_idx', properties: ['plan', 'createdAt', 'id'] })
@Index({ name: 'order_plan_status_created_idx', properties: ['plan', 'status', 'createdAt', 'id'] })
@Check({ name: 'order_amounts_check', expression: 'subtotal >= 0 and discount >= 0 and discount <= subtotal and tax >= 0 and total = subtotal - discount + tax' })
@Check({ name: 'order_version_check', expression: 'version >= 1' })
@Check({
  name: 'order_rates_check',
  expression:
    '(tax_rate_bps is null or (tax_rate_bps >= 0 and tax_rate_bps <= 10000)) and (platform_fee_bps is null or (platform_fee_bps >= 0 and platform_fee_bps <= 10000)) and (profit_tax_bps is null or (profit_tax_bps >= 0 and profit_tax_bps <= 10000))',
})
export class Order {
  [OptionalProps]?:
    | 'status'
    | 'upgradeIds'
    | 'coupon'
    | 'couponCode'
    | 'createdAt'
    | 'expiresAt'
    | 'paidAt'
    | 'paymentMethod'
    | 'deliveredAt'
    | 'cancelledAt'
    | 'cancelReason'
    | 'version'
    | 'idempotencyKey'
    | 'delivery'
    | 'holdsUnpaidSlot'
    | 'holdsStock'
    | 'holdsCouponUse'
    | 'taxRateBps'
    | 'platformFeeBps'
    | 'profitTaxBps'
    | 'actor'
    | 'lastActor'
    | 'planName'
    | 'planPrice'
    | 'upgrades';

  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  /** Human-readable, from the `order_number_seq` sequence: ORD-000123. */
  @Property({ type: 'string', length: 32 })
  @Unique({ name: 'order_number_unique' })
  number: string;

  @ManyToOne(() => Customer, { deleteRule: 'restrict' })
  customer: Customer;

  /**
   * Not a foreign key: orders would lock the plan's row as they are placed. The database checks it
   * otherwise (migrations/Migration20261206070000_OrderCatalogueWithoutLocks.ts), as for `coupon`.
   */
  @ManyToOne(() => Plan, { createForeignKeyConstraint: false })
  plan: Plan;

  @Property({ type: ArrayType, columnType: 'text[]', default: '{}' })
  upgradeIds: string[] = [];

  @ManyToOne(() => Coupon, { nullable: true, createForeignKeyConstraint: false })
  coupon: Coupon | null = null;

  @Property({ type: 'string', length: 64, nullable: true })
  couponCode: string | null = null;

  @Property({ type: 'string', length: 3 })
  currency: string;

  @Property({ type: 'integer' })
  subtotal: number;

  @Property({ type: 'integer' })
  discount: number;

  @Property({ type: 'integer' })
  tax: number;

  @Property({ type: 'integer' })
  total: number;

  @Enum({ items: () => OrderStatus, default: OrderStatus.PENDING })
  status: OrderStatus = OrderStatus.PENDING;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', nullable: true })
  expiresAt: Date | null = null;

  @Property({ type: 'datetime', nullable: true })
  paidAt: Date | null = null;

  @Enum({ items: () => PaymentMethod, nullable: true })
  paymentMethod: PaymentMethod | null = null;

  @Property({ type: 'datetime', nullable: true })
  deliveredAt: Date | null = null;

  @Property({ type: 'datetime', nullable: true })
  cancelledAt: Date | null = null;

  @Enum({ items: () => CancelReason, nullable: true })
  cancelReason: CancelReason | null = null;

  @Property({ type: 'integer', default: 1 })
  version: number = 1;

  @Property({ type: 'string', length: 200, nullable: true })
  idempotencyKey: string | null = null;

  @OneToOne('Delivery', 'order', { nullable: true })
  delivery: OrderDelivery | null = null;

  /**
   * What the order holds now, as it took it when created: one of its customer's unpaid-order slots
   * (until it leaves PENDING), a unit of its plan's stock (only if the plan had a stock then), a use of
   * its coupon. Each is cleared in the statement that gives it back, so nothing is given back that was
   * never taken, or twice.
   */
  @Property({ type: 'boolean', default: false })
  holdsUnpaidSlot: boolean = false;

  @Property({ type: 'boolean', default: false })
  holdsStock: boolean = false;

  @Property({ type: 'boolean', default: false })
  holdsCouponUse: boolean = false;

  /**
   * The rates in force when the order was made (basis points): its tax was computed with the first, and
   * its escrow is released with the other two. Null for orders made before they were recorded, which
   * are released with the rates configured at release.
   */
  @Property({ type: 'integer', nullable: true })
  taxRateBps: number | null = null;

  @Property({ type: 'integer', nullable: true })
  platformFeeBps: number | null = null;

  @Property({ type: 'integer', nullable: true })
  profitTaxBps: number | null = null;

  /**
   * Who makes the change a statement writes: every update that raises `version` sets it (a customer id
   * or `system:<what>`), or the database refuses the update. A trigger moves it to `lastActor` and
   * clears it, and the order's history row takes it from there (migration OrderRecords), so no change
   * can go unrecorded or inherit an earlier change's actor. Always null at rest.
   */
  @Property({ type: 'string', length: 80, nullable: true })
  actor: string | null = null;

  /** Who made the latest change (the actor of its newest history row). */
  @Property({ type: 'string', length: 80, nullable: true })
  lastActor: string | null = null;

  /** The plan's name and price when the order was made (null: made before they were recorded). */
  @Property({ type: 'string', length: 200, nullable: true })
  planName: string | null = null;

  @Property({ type: 'integer', nullable: true })
  planPrice: number | null = null;

  /** The upgrades bought, in the order chosen, with their names and prices when the order was made. */
  @Property({ type: 'json', default: "'[]'" })
  upgrades: BoughtUpgrade[] = [];

  // OrderService inserts an order with SQL (on conflict on its idempotency key) in the transaction whose
  // guarded updates take its holds; nothing builds one here, so there is no constructor to pretend otherwise.
}
