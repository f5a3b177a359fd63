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

/**
 * graphql-scalars' `DateTime` (RFC 3339), limited to what the database can store: a date it accepts but
 * PostgreSQL refuses (year 0000) would otherwise fail inside SQL as an internal error.
 */
export const DateTimeScalar = new GraphQLScalarType<Date, Date | string>({
  ...DateTimeResolver.toConfig(),
  parseValue: (value) => inRange(DateTimeResolver.parseValue(value)),
  parseLiteral: (ast, vars) => inRange(DateTimeResolver.parseLiteral(ast, vars)),
});
