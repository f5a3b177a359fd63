import type { EntityManager } from '@mikro-orm/postgresql';
import type { CallerContext } from '../../shared/caller';
import { forkLoader } from '../../shared/fork-loader';
import { Money } from '../../shared/types';
import { PaymentMethod } from '../order';
import type { RefundStatus } from './payment.entity';
import type { ReceiptLine } from './receipt';

/** How an order was paid (GraphQL `Payment`). */
export interface PaymentRecord {
  method: PaymentMethod;
  amount: Money;
  paidAt: Date;
  transactionId: string;
}

/** An order's refund (GraphQL `Refund`). */
export interface RefundRecord {
  amount: Money;
  method: PaymentMethod;
  status: RefundStatus;
  createdAt: Date;
  transactionId: string | null;
}

/** An order's receipt (GraphQL `Receipt`). */
export interface ReceiptRecord {
  number: string;
  issuedAt: Date;
  lines: Array<{ description: string; amount: Money }>;
  subtotal: Money;
  discount: Money;
  tax: Money;
  total: Money;
}

/** An order's payment, refund and receipt, as stored. */
export interface Records {
  payment: PaymentRecord | null;
  refund: RefundRecord | null;
  receipt: ReceiptRecord | null;
}

/** Reads the records of a batch of orders: one query for all of them. */
async function readRecords(em: EntityManager, ids: readonly string[]): Promise<Records[]> {
  const rows = await em.execute<
    {
      order_id: string;
      p_method: PaymentMethod | null;
      p_amount: string | null;
      p_currency: string | null;
      p_at: Date | null;
      p_id: string | null;
      p_gateway_ref: string | null;
      p_journal_id: string | null;
      r_amount: string | null;
      r_status: RefundStatus | null;
      r_at: Date | null;
      r_gateway_ref: string | null;
      r_journal_id: string | null;
      rc_number: string | null;
      rc_issued_at: Date | null;
      rc_currency: string | null;
      rc_lines: ReceiptLine[] | null;
      rc_subtotal: number | null;
      rc_discount: number | null;
      rc_tax: number | null;
      rc_total: number | null;
    }[]
  >(
    `select o.id as order_id,
            p.method as p_method, p.amount as p_amount, p.currency as p_currency, coalesce(o.paid_at, p.created_at) as p_at,
            p.id as p_id, p.gateway_ref as p_gateway_ref, p.journal_id as p_journal_id,
            r.amount as r_amount, r.status as r_status, r.created_at as r_at, r.gateway_ref as r_gateway_ref, r.journal_id as r_journal_id,
            rc.number as rc_number, rc.issued_at as rc_issued_at, rc.currency as rc_currency, rc.lines as rc_lines,
            rc.subtotal as rc_subtotal, rc.discount as rc_discount, rc.tax as rc_tax, rc.total as rc_total
       from "order" o
       left join payment p on p.order_id = o.id
       left join refund r on r.payment_id = p.id
       left join receipt rc on rc.order_id = o.id
      where o.id in (?)`,
    [[...ids]],
  );
  const byOrder = new Map<string, Records>();
  for (const r of rows) {
    const currency = r.p_currency ?? r.rc_currency ?? '';
    const payment: PaymentRecord | null = r.p_method
      ? {
          method: r.p_method,
          amount: new Money(Number(r.p_amount), currency),
          paidAt: new Date(r.p_at!),
          // A wallet payment of nothing moved no money, so no journal: the payment's own id stands for it.
          transactionId: (r.p_method === PaymentMethod.WALLET ? r.p_journal_id : r.p_gateway_ref) ?? r.p_id!,
        }
      : null;
    const refund: RefundRecord | null =
      r.r_status && r.p_method
        ? {
            amount: new Money(Number(r.r_amount), currency),
            method: r.p_method,
            status: r.r_status,
            createdAt: new Date(r.r_at!),
            transactionId: r.p_method === PaymentMethod.WALLET ? (r.r_journal_id ?? null) : r.r_gateway_ref,
          }
        : null;
    const receipt: ReceiptRecord | null = r.rc_number
      ? {
          number: r.rc_number,
          issuedAt: new Date(r.rc_issued_at!),
          lines: (r.rc_lines ?? []).map((l) => ({ description: l.description, amount: new Money(l.amount, r.rc_currency!) })),
          subtotal: new Money(Number(r.rc_subtotal), r.rc_currency!),
          discount: new Money(Number(r.rc_discount), r.rc_currency!),
          tax: new Money(Number(r.rc_tax), r.rc_currency!),
          total: new Money(Number(r.rc_total), r.rc_currency!),
        }
      : null;
    byOrder.set(r.order_id, { payment, refund, receipt });
  }
  return ids.map((id) => byOrder.get(id) ?? { payment: null, refund: null, receipt: null });
}

const recordsLoader = forkLoader(readRecords);
/** The payment, refund and receipt of an order, read with every other order the request asks for in one query. */
export const recordsOf = (ctx: CallerContext, orderId: string): Promise<Records> => recordsLoader(ctx.em).load(orderId);

