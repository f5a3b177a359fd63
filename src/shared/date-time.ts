import { GraphQLError, GraphQLScalarType } from 'graphql';
import { DateTimeResolver } from 'graphql-scalars';

/** The range PostgreSQL's timestamptz and the API's keyset cursors both hold: years 1 to 9999. */
const MIN_MS = new Date('0001-01-01T00:00:00.000Z').getTime();
const MAX_MS = new Date('9999-12-31T23:59:59.999Z').getTime();

function inRange(d: Date): Date {
  const t = d.getTime();
  if (!(t >= MIN_MS && t <= MAX_MS)) {
    throw new GraphQLError('DateTime must lie between years 0001 and 9999', { extensions: { code: 'BAD_USER_INPUT' } });
  }
  return d;
}

/** `Date#toISOString`'s form for years 0000 to 9999 (UTC, milliseconds), with each part in its range. */
const CANONICAL = /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The number made of the decimal digits of `s` from `from` to `to` (exclusive). */
function digits(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) n = n * 10 + s.charCodeAt(i) - 48;
  return n;
}

/**
 * Whether `s` is exactly what `Date#toISOString` writes for some moment: then it is its own
 * serialisation (graphql-scalars would parse it to a Date that prints back as the same text).
 */
function isCanonical(s: string): boolean {
  if (!CANONICAL.test(s)) return false;
  const day = digits(s, 8, 10);
  if (day <= 28) return true;
  const month = digits(s, 5, 7);
  if (month !== 2) return day <= DAYS_IN_MONTH[month - 1];
  const year = digits(s, 0, 4);
  return day === 29 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

const dateTime = DateTimeResolver.toConfig();

/**
 * graphql-scalars' `DateTime` (RFC 3339), limited on input to what the database can store: a date it
 * accepts but PostgreSQL refuses (year 0000) would otherwise fail inside SQL as an internal error.
 *
 * On output, the moments the API produces (a valid Date, or the text `Date#toISOString` and the page
 * statements write, as snapshots carry them) are written as that text directly: graphql-scalars would
 * check the text against its patterns and parse it into a Date for every value of every row, to print
 * the same text when the answer is written. Anything else goes through graphql-scalars, which
 * serialises or refuses it as before.
 */
export const DateTimeScalar = new GraphQLScalarType<Date, Date | string>({
  ...dateTime,
  serialize: (value) => {
    if (typeof value === 'string') return isCanonical(value) ? value : dateTime.serialize(value);
    if (value instanceof Date && !Number.isNaN(value.getTime())) return value.toISOString();
    return dateTime.serialize(value);
  },
  parseValue: (value) => inRange(DateTimeResolver.parseValue(value)),
  parseLiteral: (ast, vars) => inRange(DateTimeResolver.parseLiteral(ast, vars)),
});
