import nodemailer, { type Transporter } from 'nodemailer';

/** One outgoing mail. `messageId` is stable for what it announces, so a resent mail is recognisable. */
export interface MailMessage {
  from: string;
  to: string;
  subject: string;
  text: string;
  /** Without angle brackets: `local@domain`. */
  messageId: string;
}

/** Sends mails through `SMTP_URL`; without one, writes them to the log instead. */
export class Mailer {
  private readonly transport: Transporter | null;

  constructor(
    smtpUrl: string | undefined,
    private readonly log: (message: string, fields: Record<string, unknown>) => void,
  ) {
    this.transport = smtpUrl ? nodemailer.createTransport(smtpUrl) : null;
  }

  async send(m: MailMessage): Promise<void> {
    if (!this.transport) {
      this.log('mail (SMTP_URL unset, not sent)', { to: m.to, subject: m.subject, messageId: m.messageId });
      return;
    }
    await this.transport.sendMail({ from: m.from, to: m.to, subject: m.subject, text: m.text, messageId: `<${m.messageId}>` });
  }

  close(): void {
    this.transport?.close();
  }
}

/** The address part of `Name <addr@domain>` or `addr@domain`. */
export function addressOf(mailbox: string): string {
  const m = /<([^>]+)>/.exec(mailbox);
  return (m ? m[1] : mailbox).trim();
}

/**
 * A customer's address from `MAIL_TO_TEMPLATE`: `{customerId}` is replaced by the id made safe for a
 * mail local part (letters, digits, `.`, `_`, `-` kept; any other character as `=XX` hex bytes), so
 * every customer id maps to its own address.
 */
export function customerAddress(template: string, customerId: string): string {
  const local = Array.from(new TextEncoder().encode(customerId), (b) => {
    const c = String.fromCharCode(b);
    return /[A-Za-z0-9._-]/.test(c) ? c : `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }).join('');
  return template.replace('{customerId}', local);
}
