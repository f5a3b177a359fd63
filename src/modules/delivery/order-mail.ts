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

/** Composes an order mail from the order as stored now; null when the order is gone. */
export async function composeOrderMail(em: EntityManager, config: Config, job: MailJobPayload): Promise<MailMessage | null> {
  const rows = await em.execute<{ number: string; customer_id: string; total: string; currency: string; plan_name: string; delivered_at: Date | null }[]>(
    `select o.number, o.customer_id, o.total, o.currency, p.name as plan_name, o.delivered_at
       from "order" o join plan p on p.id = o.plan_id where o.id = ?`,
    [job.orderId],
  );
  const o = rows[0];
  if (!o) return null;
  const domain = addressOf(config.mailFrom).split('@')[1] ?? 'localhost';
  const total = formatMoney(Number(o.total), o.currency);
  const [subject, text] =
    job.kind === MailKind.PAID
      ? [`Order ${o.number} confirmed`, `Thank you. We received your payment of ${total} for "${o.plan_name}" (order ${o.number}).\nYou will get another mail when it is delivered.\n`]
      : [`Order ${o.number} delivered`, `Your order ${o.number} for "${o.plan_name}" has been delivered.\n`];
  return {
    from: config.mailFrom,
    to: customerAddress(config.mailToTemplate, o.customer_id),
    subject,
    text,
    messageId: `order-${job.orderId}-${job.kind.toLowerCase()}@${domain}`,
  };
}
