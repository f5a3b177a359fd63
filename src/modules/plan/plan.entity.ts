import {
  ArrayType,
  Check,
  Collection,
  Entity,
  Enum,
  Index,
  ManyToOne,
  OneToMany,
  OptionalProps,
  PrimaryKey,
  Property,
} from '@mikro-orm/core';
import { newId } from '../../shared/ids';
import { Customer } from '../customer';

/** Whether a plan is listed. */
export enum SaleStatus {
  ON_SALE = 'ON_SALE',
  HIDDEN = 'HIDDEN',
  RETIRED = 'RETIRED',
}

/**
 * Units left to sell of a plan's `stock` when `stockUsed` are held, or null when it has none (unlimited).
 * The one statement of the rule: the entity and the catalogue's SQL rows both answer through it.
 */
export const remainingStock = (stock: number | null, stockUsed: number): number | null => (stock === null ? null : Math.max(0, stock - stockUsed));

/** Whether a plan naming `groups` is shown to a customer of `group`: a plan naming no group is shown to all. */
export const shownToGroup = (groups: readonly string[], group: string): boolean => groups.length === 0 || groups.includes(group);

/** Something customers buy: a price in minor units, optional capacity, optional service period. */
@Entity({ tableName: 'plan' })
@Check({ name: 'plan_price_check', expression: 'price >= 0' })
@Check({ name: 'plan_stock_check', expression: 'stock is null or stock >= 0' })
@Check({ name: 'plan_stock_used_check', expression: 'stock_used >= 0' })
@Index({ name: 'plan_sale_status_idx', properties: ['saleStatus'] })
export class Plan {
  [OptionalProps]?: 'description' | 'durationDays' | 'saleStatus' | 'groups' | 'stock' | 'stockUsed' | 'provider' | 'createdAt' | 'updatedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @Property({ type: 'string', length: 200 })
  name: string;

  @Property({ type: 'text', nullable: true })
  description: string | null = null;

  /** Minor units. */
  @Property({ type: 'integer' })
  price: number;

  @Property({ type: 'integer', nullable: true })
  durationDays: number | null = null;

  @Enum({ items: () => SaleStatus })
  saleStatus: SaleStatus = SaleStatus.ON_SALE;

  /** Customer groups that see the plan; empty means every group. */
  @Property({ type: ArrayType, columnType: 'text[]', default: '{}' })
  groups: string[] = [];

  /** Capacity; null is unlimited. */
  @Property({ type: 'integer', nullable: true })
  stock: number | null = null;

  /** Units held by live orders; only touched for plans with a stock, so unlimited plans have no hot row. */
  @Property({ type: 'integer', default: 0 })
  stockUsed: number = 0;

  /** The provider who delivers by hand; null means automatic delivery. */
  @ManyToOne(() => Customer, { nullable: true, deleteRule: 'restrict' })
  provider: Customer | null = null;

  @OneToMany(() => PlanUpgrade, (u) => u.plan, { orderBy: { position: 'asc' } })
  upgrades = new Collection<PlanUpgrade>(this);

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', defaultRaw: 'now()', onUpdate: () => new Date() })
  updatedAt: Date = new Date();

  constructor(name: string, price: number) {
    this.name = name;
    this.price = price;
  }

  /** Units left to sell, or null when unlimited. */
  get stockRemaining(): number | null {
    return remainingStock(this.stock, this.stockUsed);
  }

  /** Whether a customer of `group` may see and buy this plan. */
  isVisibleTo(group: string): boolean {
    return this.saleStatus === SaleStatus.ON_SALE && shownToGroup(this.groups, group);
  }
}

/** An optional extra bought together with its plan. */
@Entity({ tableName: 'plan_upgrade' })
@Index({ name: 'plan_upgrade_plan_idx', properties: ['plan', 'position'] })
@Check({ name: 'plan_upgrade_price_check', expression: 'price >= 0' })
export class PlanUpgrade {
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @ManyToOne(() => Plan, { deleteRule: 'cascade' })
  plan: Plan;

  @Property({ type: 'string', length: 200 })
  name: string;

  @Property({ type: 'integer' })
  price: number;

  @Property({ type: 'integer' })
  position: number;

  constructor(plan: Plan, name: string, price: number, position: number) {
    this.plan = plan;
    this.name = name;
    this.price = price;
    this.position = position;
  }
}
