import type { EntityManager, Knex } from '@mikro-orm/postgresql';
import { createHash } from 'node:crypto';
import type { Client as PgClient, QueryResultRow } from 'pg';

/**
 * A piece of SQL with its values kept apart (`?` placeholders, sent as bind parameters), so modules can
 * hand each other parts of one statement (a CTE step, a subquery) and the statement still travels as
 * text plus values: no value is ever inlined into the text.
 */
export class Sql {
  constructor(
    readonly text: string,
    readonly bindings: readonly unknown[],
  ) {}
}

/**
 * Builds {@link Sql} from a template: each `${value}` becomes a bind parameter, each `${Sql}` is spliced
 * in with its own values. Arrays are refused (the driver would expand them into lists): pass
 * {@link textArray} of them and cast, e.g. `status = any(${textArray(s)}::text[])`.
 */
export function sql(strings: TemplateStringsArray, ...values: unknown[]): Sql {
  let text = strings[0];
  const bindings: unknown[] = [];
  values.forEach((value, i) => {
    if (value instanceof Sql) {
      text += value.text;
      bindings.push(...value.bindings);
    } else {
      if (Array.isArray(value)) throw new TypeError('sql: pass arrays as textArray(...) with a cast');
      text += '?';
      bindings.push(value === undefined ? null : value);
    }
    text += strings[i + 1];
  });
  return new Sql(text, bindings);
}

/** Text taken as SQL as it is: only for constants of the program, never for a value from outside. */
export const rawSql = (text: string): Sql => new Sql(text, []);

/** `parts` joined by `separator` (e.g. `,\n`), their values in order. */
export function joinSql(parts: readonly Sql[], separator: string): Sql {
  return new Sql(
    parts.map((p) => p.text).join(separator),
    parts.flatMap((p) => p.bindings),
  );
}

/** A PostgreSQL array literal of `values` (each quoted), to bind as one text value and cast. */
export function textArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`).join(',')}}`;
}

/**
 * The name `text` is prepared under on a connection: a digest of the text, so one name never stands for
 * two texts. For statements made from constants of the program (a few shapes, each named once).
 */
export function preparedNameOf(prefix: string, text: string): string {
  return `${prefix}_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
}

/** Statement names by text, for {@link query}'s `prepared` (bounded: beyond it, statements are sent whole). */
const preparedNames = new Map<string, string>();
const MAX_PREPARED = 500;

function preparedName(text: string): string | undefined {
  let name = preparedNames.get(text);
  if (name === undefined && preparedNames.size < MAX_PREPARED) {
    name = preparedNameOf('sql', text);
    preparedNames.set(text, name);
  }
  return name;
}

/** Where `em` runs SQL: its transaction when it has one, else its connection pool. */
export const connectionOf = (em: EntityManager): Knex => em.getTransactionContext<Knex.Transaction>() ?? em.getConnection().getKnex();

/**
 * Runs `text` on `knex` (a pool or a transaction) with `bindings` as bind parameters, prepared under
 * `name` when given (parsed and planned once per connection, then sent as its name and values alone),
 * and returns its rows.
 */
export async function runOn<T>(knex: Knex, text: string, bindings: readonly unknown[], name?: string): Promise<T[]> {
  const positional = knex.isTransaction ? null : positionalText(text, bindings);
  if (positional === null) {
    const raw = knex.raw<{ rows: T[] }>(text, bindings as Knex.RawBinding[]);
    return (await (name === undefined ? raw : raw.options({ name }))).rows;
  }
  // Outside a transaction a statement needs nothing of the query builder: it goes straight to a pooled
  // connection of the same pool. knex's raw path (compiling the text, its runner, events, response
  // processing) cost a payment's API process about as much CPU as node-postgres itself.
  const pool = knex.client as PoolOf<PgClient>;
  const connection = await pool.acquireConnection();
  try {
    // An unnamed statement (`name` undefined) is parsed afresh, as through knex.
    return (await connection.query<T & QueryResultRow>({ text: positional, values: bindings as unknown[], name })).rows;
  } finally {
    void pool.releaseConnection(connection);
  }
}

/** The connection pool behind a knex instance, as knex's own runner takes and gives back connections. */
interface PoolOf<C> {
  acquireConnection(): Promise<C>;
  releaseConnection(connection: C): Promise<void>;
}

/** Texts with their `?` placeholders numbered (`$1`, `$2`...) and counted, by text: programs have few distinct texts. */
const positionalTexts = new Map<string, { text: string; values: number } | null>();
const MAX_POSITIONAL = 1_000;

/**
 * `text` as PostgreSQL takes it, each `?` numbered and each escaped `\\?` a plain `?`, exactly as knex
 * turns a raw statement into what it sends; null where only knex can say what to send or what is wrong
 * (`??` identifiers, a value count that does not match, undefined values, query-builder values).
 */
function positionalText(text: string, bindings: readonly unknown[]): string | null {
  if (bindings.length === 0) return text.includes('?') ? null : text;
  if (!bindings.every(isPlainValue)) return null;
  let numbered = positionalTexts.get(text);
  if (numbered === undefined) {
    numbered = numberPlaceholders(text);
    if (positionalTexts.size < MAX_POSITIONAL) positionalTexts.set(text, numbered);
  }
  return numbered !== null && numbered.values === bindings.length ? numbered.text : null;
}

function numberPlaceholders(text: string): { text: string; values: number } | null {
  if (text.includes('??')) return null;
  let values = 0;
  const numbered = text.replace(/(\\*)(\?)/g, (_match, escapes: string) => (escapes.length % 2 ? '?' : `$${++values}`));
  return { text: numbered, values };
}

const isPlainValue = (v: unknown): boolean =>
  v !== undefined && typeof v !== 'function' && !(typeof v === 'object' && v !== null && typeof (v as { toSQL?: unknown }).toSQL === 'function');

/**
 * Runs `statement` on `em`'s connection, inside its transaction when it has one, with the values as
 * bind parameters, and returns its rows. (The ORM's `execute` inlines every value into the text.)
 *
 * `prepared`: the statement is parsed and planned once per connection and later sent as its name and
 * values alone. For hot statements whose text comes from constants of the program (so there are few
 * distinct texts); a statement naming columns with `*` must then not outlive a change of its tables.
 */
export function query<T>(em: EntityManager, statement: Sql, opts: { prepared?: boolean } = {}): Promise<T[]> {
  return runOn<T>(connectionOf(em), statement.text, statement.bindings, opts.prepared ? preparedName(statement.text) : undefined);
}
