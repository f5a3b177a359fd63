import { ArrayType, Check, Entity, Enum, Formula, Index, ManyToOne, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { newId } from '../../shared/ids';
import { Customer } from '../customer';

export enum CouponKind {
  PERCENT = 'PERCENT',
  FIXED = 'FIXED',
}

/** Normalises a code for comparison: codes are unique ignoring case and surrounding spaces. */
export const couponKey = (code: string): string => code.trim().toUpperCase();

/** How many live uses of the coupon aliased `alias` its stripes count (see {@link CouponUseStripe}). */
export const usedCountOf = (alias: string): string => `(select coalesce(sum(u.used), 0)::int from coupon_use u where u.coupon_id = ${alias}.id)`;

/**
 * A discount code. `usedCount` counts live uses (cancelled orders give theirs back), in stripes
 * ({@link CouponUseStripe}); the database refuses to let it pass `maxUses`.
 */
@Entity({ tableName: 'coupon' })
@Index({ name: 'coupon_created_idx', properties: ['createdAt', 'id'] })
@Check({ name: 'coupon_value_check', expression: "value > 0 and (kind <> 'PERCENT' or value <= 100)" })
@Check({ name: 'coupon_window_check', expression: 'starts_at is null or ends_at is null or ends_at > starts_at' })
@Check({ name: 'coupon_limits_check', expression: '(max_uses is null or max_uses >= 1) and (max_uses_per_user is null or max_uses_per_user >= 1) and (min_amount is null or min_amount >= 0)' })
export class Coupon {
  [OptionalProps]?: 'startsAt' | 'endsAt' | 'maxUses' | 'maxUsesPerUser' | 'minAmount' | 'usedCount' | 'enabled' | 'planIds' | 'createdAt' | 'revision';

  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  /** As the admin typed it (trimmed). */
  @Property({ type: 'string', length: 64 })
  code: string;

  /**
   * {@link couponKey} of the code: the unique lookup key. Text, not 64 characters like the code: upper
   * case can be longer ("ß" is "SS", "ﬃ" is "FFI").
   */
  @Property({ type: 'text' })
  @Unique({ name: 'coupon_code_key_unique' })
  codeKey: string;

  @Enum({ items: () => CouponKind })
  kind: CouponKind;

  @Property({ type: 'integer' })
  value: number;

  @Property({ type: 'datetime', nullable: true })
  startsAt: Date | null = null;

  @Property({ type: 'datetime', nullable: true })
  endsAt: Date | null = null;

  @Property({ type: 'integer', nullable: true })
  maxUses: number | null = null;

  @Property({ type: 'integer', nullable: true })
  maxUsesPerUser: number | null = null;

  /** Compared with the subtotal. */
  @Property({ type: 'integer', nullable: true })
  minAmount: number | null = null;

  /** Live uses: the sum of the coupon's stripes, read with the coupon (never written through it). */
  @Formula((table) => usedCountOf(table.alias), { type: 'integer' })
  usedCount: number = 0;

  @Property({ type: 'boolean', default: true })
  enabled: boolean = true;

  /** Plans it applies to; empty means every plan. */
  @Property({ type: ArrayType, columnType: 'text[]', default: '{}' })
  planIds: string[] = [];

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  /**
   * Raised by the database on every change of the row and copied to the coupon's use stripes, both by
   * triggers (migrations/Migration20261206200000_CouponRevision.ts); the app only reads it. An order
   * placed from what it remembers of the coupon checks it in the stripe it takes its use from.
   */
  @Property({ type: 'integer', default: 1 })
  revision: number = 1;

  constructor(code: string, kind: CouponKind, value: number) {
    this.code = code.trim();
    this.codeKey = couponKey(code);
    this.kind = kind;
    this.value = value;
  }
}

/**
 * Live uses of one coupon by one customer. A guarded upsert on this row (not on the coupon) enforces
 * `maxUsesPerUser`, so per-customer limits never contend across customers.
 */
@Entity({ tableName: 'coupon_customer_use' })
@Check({ name: 'coupon_customer_use_used_check', expression: 'used >= 0' })
export class CouponCustomerUse {
  @ManyToOne(() => Coupon, { primary: true, deleteRule: 'cascade' })
  coupon: Coupon;

  @ManyToOne(() => Customer, { primary: true, deleteRule: 'cascade' })
  customer: Customer;

  @Property({ type: 'integer', default: 0 })
  used: number = 0;

  // Rows come only from the guarded upsert in CouponService (insert ... on conflict ... where used < limit);
  // nothing builds one here, so there is no constructor to pretend otherwise.
}

/**
 * One stripe of a coupon's live uses: up to 16 per coupon, made with the coupon (a trigger), so orders
 * of a popular coupon take their uses from different rows instead of queueing on one. `quota` is this
 * stripe's share of `maxUses` (the quotas sum to it; null without a maximum), which `used` never passes.
 */
@Entity({ tableName: 'coupon_use' })
@Check({ name: 'coupon_use_used_check', expression: 'used >= 0 and (quota is null or used <= quota)' })
export class CouponUseStripe {
  @ManyToOne(() => Coupon, { primary: true, deleteRule: 'cascade' })
  coupon: Coupon;

  @PrimaryKey({ type: 'smallint' })
  stripe: number;

  @Property({ type: 'integer', default: 0 })
  used: number = 0;

  @Property({ type: 'integer', nullable: true })
  quota: number | null = null;

  /** The coupon's {@link Coupon.revision}, copied by the database whenever it changes. */
  @Property({ type: 'integer', default: 1 })
  couponRevision: number = 1;

  // Rows come only from the coupon's insert trigger and the guarded steps in coupon-uses.ts.
}
