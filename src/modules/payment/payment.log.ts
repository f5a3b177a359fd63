/** Where payment events are logged (pino's signature; jobs adapt graphile-worker's logger to it). */
export interface PaymentLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** A log that drops everything. */
export const silentLog: PaymentLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** The message of anything thrown, cut to what a database column and a log line should hold. */
export const errorText = (e: unknown): string => (e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(e)).slice(0, 2000);
