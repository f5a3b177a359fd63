/**
 * The DateTime scalar's output (src/shared/date-time.ts) against graphql-scalars' DateTime, which it
 * stands in for on output: for every value, the same JSON, or the same refusal.
 */
import { DateTimeResolver } from 'graphql-scalars';
import { DateTimeScalar } from '../../src/shared/date-time';

/** What an answer carries for a value: its JSON, or the error message. */
function written(serialize: (v: unknown) => unknown, value: unknown): string {
  try {
    return `ok ${JSON.stringify(serialize(value))}`;
  } catch (e) {
    return `error ${(e as Error).message}`;
  }
}

const ours = (v: unknown) => DateTimeScalar.serialize(v);
const theirs = (v: unknown) => DateTimeResolver.serialize(v);

const pad = (n: number, width: number) => String(n).padStart(width, '0');

test('toISOString texts, edge dates and malformed texts are written as graphql-scalars writes them', () => {
  const values: unknown[] = [
    '2026-01-01T00:00:00.000Z',
    '2024-02-29T23:59:59.999Z', // leap day
    '2023-02-29T00:00:00.000Z', // not a leap year
    '2000-02-29T12:00:00.000Z', // divisible by 400
    '1900-02-29T12:00:00.000Z', // divisible by 100 only
    '2026-04-31T00:00:00.000Z',
    '2026-12-31T23:59:59.999Z',
    '2026-13-01T00:00:00.000Z',
    '2026-00-10T00:00:00.000Z',
    '2026-01-00T00:00:00.000Z',
    '2026-01-32T00:00:00.000Z',
    '2026-01-01T24:00:00.000Z',
    '2026-01-01T23:60:00.000Z',
    '2026-01-01T23:59:60.000Z',
    '0000-01-01T00:00:00.000Z',
    '0001-01-01T00:00:00.000Z',
    '9999-12-31T23:59:59.999Z',
    '2026-01-01T00:00:00Z',
    '2026-01-01T00:00:00.1Z',
    '2026-01-01T00:00:00.123456Z',
    '2026-01-01T01:00:00.000+01:00',
    '2026-01-01t00:00:00.000z',
    '2026-01-01T00:00:00.000',
    '2026-01-01',
    ' 2026-01-01T00:00:00.000Z',
    '+010000-01-01T00:00:00.000Z',
    '',
    'garbage',
    new Date('2026-05-06T07:08:09.010Z'),
    new Date(-62198755200000), // year 0000
    new Date(8.64e15), // the last moment a Date holds
    new Date(NaN),
    0,
    1_700_000_000_000,
    null,
    undefined,
    {},
    true,
  ];
  for (const v of values) expect([v, written(ours, v)]).toEqual([v, written(theirs, v)]);
});

test('every day of a few years, at random times, including the invalid days of each month', () => {
  for (const year of [0, 4, 100, 1600, 1900, 1999, 2000, 2023, 2024, 2100, 9999]) {
    for (let month = 1; month <= 12; month++) {
      for (let day = 1; day <= 31; day++) {
        const t = `${pad(Math.floor(Math.random() * 24), 2)}:${pad(Math.floor(Math.random() * 60), 2)}:${pad(Math.floor(Math.random() * 60), 2)}.${pad(Math.floor(Math.random() * 1000), 3)}`;
        const v = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${t}Z`;
        expect([v, written(ours, v)]).toEqual([v, written(theirs, v)]);
      }
    }
  }
});

test('input keeps its checks: RFC 3339 text parsed to a Date, years 0001 to 9999 only', () => {
  expect(DateTimeScalar.parseValue('2026-01-01T01:00:00+01:00')).toEqual(new Date('2026-01-01T00:00:00.000Z'));
  expect(() => DateTimeScalar.parseValue('0000-01-01T00:00:00Z')).toThrow('DateTime must lie between years 0001 and 9999');
  expect(() => DateTimeScalar.parseValue('2026-02-30T00:00:00Z')).toThrow('DateTime cannot represent an invalid date-time-string 2026-02-30T00:00:00Z.');
});
