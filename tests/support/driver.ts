import { Client } from 'pg';

/** What node-postgres was sent, below every library. */
export interface SentStatements {
  /** The texts of the statements sent since the watch began that `keep` kept, in order. */
  texts: string[];
  /** Stops watching. */
  stop(): void;
}

/**
 * Watches every statement node-postgres sends in this process (each `query()` is one round trip on its
 * connection), keeping the texts `keep` accepts, until `stop()`.
 */
export function watchSent(keep: (text: string) => boolean = () => true): SentStatements {
  const proto = Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  const texts: string[] = [];
  proto.query = function (this: unknown, ...args: unknown[]) {
    const q = args[0] as string | { text?: string } | undefined;
    const text = typeof q === 'string' ? q : (q?.text ?? '');
    if (keep(text)) texts.push(text);
    return original.apply(this, args);
  };
  return { texts, stop: () => void (proto.query = original) };
}
