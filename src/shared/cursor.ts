import { BadUserInputError } from './errors';
import { isUuid } from './ids';

/**
 * A keyset position: the sort key of the last row of a page, as microseconds since the epoch, then the
 * row's id. Microseconds, not milliseconds, so rows created within one millisecond keep their order.
 */
export interface KeysetCursor {
  /** A decimal integer that fits PostgreSQL's `bigint`. */
  micros: string;
  /** The row's id: a UUID, or any other key when the list is keyed by one (customers: a token's subject, control characters and all, but no NUL). */
  id: string;
}

/**
 * The largest sort key a cursor may carry: 9999-12-31T23:59:59.999999Z in microseconds. Larger numbers,
 * even those that fit `bigint`, overflow PostgreSQL's interval arithmetic (an internal error otherwise).
 */
const MICROS_MAX = 253402300799999999n;

/** How a list's cursor names its rows' ids; UUIDs unless told otherwise. */
export type CursorIdKind = 'uuid' | 'text';

/**
 * The one cursor codec of every connection: opaque base64url of `<micros>:<id>`. Clients must treat it
 * as opaque; the format is ours to change.
 */
export function encodeCursor(c: KeysetCursor): string {
  return Buffer.from(`${c.micros}:${c.id}`, 'utf8').toString('base64url');
}

/**
 * Reads a cursor made by {@link encodeCursor}. Anything else, including a number past `bigint` or an id
 * of the wrong kind, is BAD_USER_INPUT on the `after` argument, so no malformed value reaches SQL.
 */
export function decodeCursor(cursor: string, idKind: CursorIdKind = 'uuid'): KeysetCursor {
  const bad = () => BadUserInputError.field('after', 'not a cursor returned by this list');
  if (typeof cursor !== 'string' || !/^[A-Za-z0-9_-]{1,400}$/.test(cursor)) throw bad();
  const m = /^(\d{1,19}):(.{1,200})$/s.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw bad();
  const micros = BigInt(m[1]);
  if (micros > MICROS_MAX) throw bad();
  const id = m[2];
  // A text key is what a token's subject may be: anything but NUL, which no stored key holds.
  if (idKind === 'uuid' ? !isUuid(id) : id.includes('\u0000')) throw bad();
  return { micros: micros.toString(), id };
}

/** SQL for a row's keyset micros from a timestamptz column, as text (no float rounding on the way). */
export const microsOf = (column: string): string => `(extract(epoch from ${column}) * 1000000)::bigint::text`;

/** SQL that turns `micros` (an expression: microseconds since the epoch) back into a timestamptz. */
export const timestampOfMicros = (micros: string): string => `(timestamptz 'epoch' + ${micros} * interval '1 microsecond')`;

/** SQL that turns a cursor's micros parameter back into a timestamptz. */
export const timestampFromMicros = timestampOfMicros('?::bigint');

/**
 * The cursor of a list ordered by a text key alone (customers by id): the same codec, with a zero sort
 * key, so every list's cursors stay one format.
 */
export function encodeKeyCursor(key: string): string {
  return encodeCursor({ micros: '0', id: key });
}

/** Reads a cursor made by {@link encodeKeyCursor}; BAD_USER_INPUT (`after`) for anything else. */
export function decodeKeyCursor(cursor: string): string {
  const c = decodeCursor(cursor, 'text');
  if (c.micros !== '0') throw BadUserInputError.field('after', 'not a cursor returned by this list');
  return c.id;
}

/** Default and largest page of the connections that take `first`. */
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/**
 * A connection's page size: `first`, 1 to 100, default 20. BAD_USER_INPUT outside that range: a client
 * asking for 1000 learns the limit instead of silently getting 100.
 */
export function pageSize(first: number | null | undefined): number {
  const n = first ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE_SIZE) throw BadUserInputError.field('first', `must be 1 to ${MAX_PAGE_SIZE}`);
  return n;
}

/** A connection's paging arguments once checked: the page size, and the position to read on from. */
export interface PageRequest<TCursor> {
  first: number;
  after: TCursor | null;
}

/**
 * The paging arguments of a list, checked the one way every list checks them: `first` by
 * {@link pageSize}, then `after`, when given, by the list's own cursor reader `decode` (which answers
 * BAD_USER_INPUT naming `after` for a cursor not of that list).
 */
export function pageRequest<TCursor>(args: { first?: number | null; after?: string | null }, decode: (cursor: string) => TCursor): PageRequest<TCursor> {
  const first = pageSize(args.first);
  return { first, after: args.after != null ? decode(args.after) : null };
}
