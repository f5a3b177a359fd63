import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** One mail the capture server took, as the server sent it. */
export interface CapturedMail {
  /** The envelope's recipients. */
  to: string[];
  messageId: string;
  subject: string;
  /** The whole message: headers and (possibly multipart, encoded) body. */
  raw: string;
  /** The text/plain part a person reads, transfer encoding undone (decoded when first read). */
  readonly text: string;
}

/** A real SMTP server on the loopback that keeps every mail it is sent, for a test to look at. */
export interface Mailbox {
  /** Every mail taken so far, in the order they arrived. */
  mails: CapturedMail[];
  /** Where a server under test sends to: its SMTP_URL. */
  url: string;
  close(): Promise<void>;
}

/** The first header `name` of a raw mail or MIME part, trimmed; '' when there is none. */
export const header = (raw: string, name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(raw)?.[1]?.trim() ?? '';

/** The text a person reads in a raw mail: its (first) text/plain part, transfer encoding undone. */
export function textOf(raw: string): string {
  const split = (entity: string) => {
    const at = entity.indexOf('\r\n\r\n');
    return { head: entity.slice(0, at), body: entity.slice(at + 4) };
  };
  let { head, body } = split(raw);
  const boundary = /boundary="?([^";\r\n]+)"?/i.exec(head)?.[1];
  if (boundary) {
    const part = body.split(`--${boundary}`).map(split).find((p) => /content-type:\s*text\/plain/i.test(p.head));
    if (!part) throw new Error('no text/plain part in the mail');
    ({ head, body } = part);
  }
  const encoding = header(head, 'Content-Transfer-Encoding').toLowerCase();
  if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') {
    const bytes = body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return body;
}

/**
 * Starts a {@link Mailbox} on a free loopback port, without TLS or authentication.
 *
 * `toleratesResets`: a sender killed mid-mail resets its connection, which the SMTP server reports as an
 * 'error' event that, unhandled, fails the suite; a test that kills senders on purpose passes true.
 */
export async function startMailbox(options: { toleratesResets?: boolean } = {}): Promise<Mailbox> {
  const mails: CapturedMail[] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, done) {
      let raw = '';
      stream.on('data', (c: Buffer) => (raw += c.toString('utf8')));
      stream.on('end', () => {
        let text: string | undefined;
        mails.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          messageId: header(raw, 'Message-ID'),
          subject: header(raw, 'Subject'),
          raw,
          get text() {
            return (text ??= textOf(raw));
          },
        });
        done();
      });
    },
  });
  if (options.toleratesResets) smtp.on('error', () => undefined);
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
  const { port } = smtp.server.address() as AddressInfo;
  return {
    mails,
    url: `smtp://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => smtp.close(() => r())),
  };
}
