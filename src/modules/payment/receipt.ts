import { Entity, PrimaryKey, Property, Unique } from '@mikro-orm/core';

/** One line of a receipt: what was bought (or the discount, negative), in minor units. */
export interface ReceiptLine {
  description: string;
  amount: number;
}

/**
 * The receipt of a paid order, issued in the payment's transaction: its number comes from the
 * `receipt_number_seq` sequence (unique and increasing, RCT-000042), its lines are what was bought, as
 * bought, and its totals are the order's. Never changed or deleted (a trigger refuses it).
 */
@Entity({ tableName: 'receipt' })
export class Receipt {
  @PrimaryKey({ type: 'uuid' })
  orderId: string;

  @Property({ type: 'string', length: 32 })
  @Unique({ name: 'receipt_number_unique' })
  number: string;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  issuedAt: Date;

  @Property({ type: 'string', length: 3 })
  currency: string;

  @Property({ type: 'json' })
  lines: ReceiptLine[];

  @Property({ type: 'integer' })
  subtotal: number;

  @Property({ type: 'integer' })
  discount: number;

  @Property({ type: 'integer' })
  tax: number;

  @Property({ type: 'integer' })
  total: number;

  // Inserted by the database function confirm_payment in the payment's transaction (numbered from its
  // sequence; its lines the plan and upgrades as bought, then the discount); nothing builds
  // one here, so there is no constructor to pretend otherwise.
}
