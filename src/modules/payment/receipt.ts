import { Entity, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Order } from '../order';

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

  // Inserted by SQL in the payment's transaction (issueReceipt, numbered from its sequence); nothing builds
  // one here, so there is no constructor to pretend otherwise.
}

/**
 * The lines of an order's receipt: the plan and each upgrade as bought, then the discount as a negative
 * line when there is one. An order made before names and prices were recorded takes its plan's current
 * name (`planName`), priced as the subtotal less the upgrades, so the lines still add up.
 */
export function receiptLines(order: Pick<Order, 'planName' | 'planPrice' | 'upgrades' | 'subtotal' | 'discount' | 'couponCode'>, planName: string): ReceiptLine[] {
  const upgrades = order.upgrades.map((u) => ({ description: u.name, amount: u.price }));
  const planPrice = order.planPrice ?? Math.max(0, order.subtotal - upgrades.reduce((s, u) => s + u.amount, 0));
  const lines = [{ description: order.planName ?? planName, amount: planPrice }, ...upgrades];
  if (order.discount > 0) lines.push({ description: order.couponCode ? `Discount (${order.couponCode})` : 'Discount', amount: -order.discount });
  return lines;
}

/**
 * Issues the receipt of an order inside the transaction that pays it (one statement: the number is
 * taken from the sequence there: `RCT-000042`, longer numbers keeping every digit). A second receipt for
 * the same order is refused by its primary key.
 */
export async function issueReceipt(tx: EntityManager, order: Order, planName: string): Promise<void> {
  const lines = receiptLines(order, planName);
  await tx.execute(
    `insert into receipt (order_id, number, issued_at, currency, lines, subtotal, discount, tax, total)
     select ?, 'RCT-' || lpad(n::text, greatest(6, length(n::text)), '0'), now(), ?, ?::jsonb, ?, ?, ?, ? from nextval('receipt_number_seq') as n`,
    [order.id, order.currency, JSON.stringify(lines), order.subtotal, order.discount, order.tax, order.total],
  );
}
