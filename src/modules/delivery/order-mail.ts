import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../../config';
import { enqueue } from '../../infra/jobs';
import { addressOf, customerAddress, type MailMessage } from '../../infra/mail';
import { formatMoney } from '../../shared/money';

/** Task name of the mail job. */
export const SEND_MAIL_TASK = 'send_mail';

/** The order mails. */
export enum MailKind {
  /** Order confirmation, when the order is paid. */
  PAID = 'PAID',
  /** The service is delivered. */
  DELIVERED = 'DELIVERED',
  /** The order was refunded. */
  REFUNDED = 'REFUNDED',
}

export interface MailJobPayload {
  orderId: string;
  kind: MailKind;
}

/**
 * Enqueues an order mail inside the transaction that makes it true: a rolled-back change sends
 * nothing, and a committed one keeps its mail even if the process dies. One job per (order, kind).
 */
export async function mailJob(tx: EntityManager, orderId: string, kind: MailKind): Promise<void> {
  const payload: MailJobPayload = { orderId, kind };
  await enqueue(tx, SEND_MAIL_TASK, payload, { jobKey: `mail:${orderId}:${kind}`, maxAttempts: 10 });
}

/** The receipt as the confirmation mail lists it. */
interface ReceiptRow {
  number: string;
  lines: Array<{ description: string; amount: number }>;
  subtotal: string;
  discount: string;
  tax: string;
  total: string;
  currency: string;
}

/** The receipt's number and lines, then its totals, amounts in words (see formatMoney). */
function receiptText(r: ReceiptRow): string {
  const money = (n: number | string) => formatMoney(Number(n), r.currency);
  const rows: Array<[string, string]> = [
    ...r.lines.map((l): [string, string] => [l.description, money(l.amount)]),
    ['Subtotal', money(r.subtotal)],
    ...(Number(r.discount) > 0 ? [['Discount', money(-Number(r.discount))] as [string, string]] : []),
    ['Tax', money(r.tax)],
    ['Total', money(r.total)],
  ];
  const width = Math.max(...rows.map(([d]) => d.length));
  return `Receipt ${r.number}\n${rows.map(([d, a]) => `  ${d.padEnd(width)}  ${a}`).join('\n')}\n`;
}

/** Composes an order mail from the order as stored now; null when the order is gone. */
export async function composeOrderMail(em: EntityManager, config: Config, job: MailJobPayload): Promise<MailMessage | null> {
  const rows = await em.execute<
    { number: string; customer_id: string; total: string; currency: string; plan_name: string; delivered_at: Date | null; refund_amount: string | null; refund_method: string | null }[]
  >(
    `select o.number, o.customer_id, o.total, o.currency, coalesce(o.plan_name, p.name) as plan_name, o.delivered_at,
            r.amount as refund_amount, pay.method as refund_method
       from "order" o join plan p on p.id = o.plan_id
       left join refund r on r.order_id = o.id left join payment pay on pay.id = r.payment_id
      where o.id = ?`,
    [job.orderId],
  );
  const o = rows[0];
  if (!o) return null;
  const domain = addressOf(config.mailFrom).split('@')[1] ?? 'localhost';
  const total = formatMoney(Number(o.total), o.currency);
  let subject: string;
  let text: string;
  if (job.kind === MailKind.PAID) {
    const [receipt] = await em.execute<ReceiptRow[]>(`select number, lines, subtotal, discount, tax, total, currency from receipt where order_id = ?`, [job.orderId]);
    subject = `Order ${o.number} confirmed`;
    text =
      `Thank you. We received your payment of ${total} for "${o.plan_name}" (order ${o.number}).\n` +
      (receipt ? `\n${receiptText(receipt)}\n` : '') +
      `You will get another mail when it is delivered.\n`;
  } else if (job.kind === MailKind.REFUNDED) {
    const amount = formatMoney(Number(o.refund_amount ?? o.total), o.currency);
    const where = o.refund_method === 'WALLET' ? 'to your wallet' : 'to the card or account you paid with (it may take a few days to appear)';
    subject = `Order ${o.number} refunded`;
    text = `Your order ${o.number} for "${o.plan_name}" has been refunded: ${amount} goes back ${where}.\n`;
  } else {
    subject = `Order ${o.number} delivered`;
    text = `Your order ${o.number} for "${o.plan_name}" has been delivered.\n`;
  }
  return {
    from: config.mailFrom,
    to: customerAddress(config.mailToTemplate, o.customer_id),
    subject,
    text,
    messageId: `order-${job.orderId}-${job.kind.toLowerCase()}@${domain}`,
  };
}
