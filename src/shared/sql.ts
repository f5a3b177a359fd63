import type { EntityManager, Knex } from '@mikro-orm/postgresql';
import { createHash } from 'node:crypto';
import type { Client as PgClient, QueryResultRow } from 'pg';

/**
 * A piece of SQL with its values kept apart (`?` placeholders, sent as bind parameters), so modules can
 * hand each other parts of one statement (a CTE step, a subquery) and the statement still travels as
 * text plus values: no value is ever inlined into the text.
 *
 * A piece keeps its parts as they were given (the template's strings, its values and pieces) and is
 * put together only when it is sent: statements are built on every request from the same few shapes,
 * so the text of each shape is worked out once (see {@link compile}) and a request only collects its
 * values.
 */
export class Sql {
  /**
   * @param key What tells this piece's shape apart from others' (a step of the shape tree): a
   *   template's strings (the same array on every call from one place in the program), a raw text, or
   *   {@link JOIN} (then the separator and the count are steps too).
   * @param strings The text around the values: `strings[i]`, value `i`, `strings[i + 1]`...
   * @param values Values and nested pieces, one between each two strings.
   */
  private constructor(
    readonly key: unknown,
    readonly strings: readonly string[],
    readonly values: readonly unknown[],
    readonly separator = '',
  ) {}

  /** A template's piece (see {@link sql}). */
  static template(strings: TemplateStringsArray, values: unknown[]): Sql {
    return new Sql(strings, strings, values);
  }

  /** Text taken as it is (see {@link rawSql}). */
  static raw(text: string): Sql {
    return new Sql(text, [text], []);
  }

  /** Pieces joined by `separator` (see {@link joinSql}). */
  static join(parts: readonly Sql[], separator: string): Sql {
    const strings = parts.length === 0 ? [''] : ['', ...Array<string>(parts.length - 1).fill(separator), ''];
    return new Sql(JOIN, strings, parts, separator);
  }

  /** The statement's text, `?` for each value. */
  get text(): string {
    return compile(this).shape?.text ?? textOf(this);
  }

  /** The values, in the order of the text's placeholders. */
  get bindings(): unknown[] {
    return compile(this).bindings;
  }
}

/** The step a join takes in the shape tree before its separator and count. */
const JOIN = Symbol('join');

/**
 * Builds {@link Sql} from a template: each `${value}` becomes a bind parameter, each `${Sql}` is spliced
 * in with its own values. Arrays are refused (the driver would expand them into lists): pass
 * {@link textArray} of them and cast, e.g. `status = any(${textArray(s)}::text[])`.
 */
export function sql(strings: TemplateStringsArray, ...values: unknown[]): Sql {
  for (const value of values) if (Array.isArray(value)) throw new TypeError('sql: pass arrays as textArray(...) with a cast');
  return Sql.template(strings, values);
}

/** Text taken as SQL as it is: only for constants of the program, never for a value from outside. */
export const rawSql = (text: string): Sql => Sql.raw(text);

/** `parts` joined by `separator` (e.g. `,\n`), their values in order. */
export function joinSql(parts: readonly Sql[], separator: string): Sql {
  return Sql.join(parts, separator);
}

/**
 * What is worked out once per shape of statement (or per text, for texts not made by {@link sql}): its
 * text, and on first use its numbered text and prepared name.
 */
interface Shape {
  text: string;
  /** The text as PostgreSQL takes it, or null where only knex can say (see {@link positionalText}). */
  numbered?: Numbered;
  /** Null beyond {@link MAX_PREPARED} named shapes: such statements are sent whole. */
  preparedName?: string | null;
}

/** A step of the shape tree: the shapes that go on from here, and the one that ends here. */
interface ShapeStep {
  next: Map<unknown, ShapeStep>;
  shape?: Shape;
}

/** The step a value (not a piece) takes in the shape tree. */
const VALUE = Symbol('value');
const shapes: ShapeStep = { next: new Map() };
let stepCount = 0;
/**
 * Most steps the shape tree holds (statements are made from constants of the program, so it stays
 * small); once full, a shape not in it is put together each time it is sent.
 */
const MAX_STEPS = 50_000;

/** A walk through the shape tree (`at`: where it is, undefined once it left the tree) collecting the values. */
interface Walk {
  at: ShapeStep | undefined;
  bindings: unknown[];
}

/**
 * The shape of `statement` (its text, found once per shape; undefined when the tree is full and does not
 * hold it) and its values. The shape is a walk over
 * its pieces in order, each step the piece's key, or {@link VALUE} for a value: the same walk is the
 * same text, whatever the values. (A walk is read one way only: a template's strings tell how many
 * values follow, a raw text none, a join its count.)
 */
function compile(statement: Sql): { shape: Shape | undefined; bindings: unknown[] } {
  const walk: Walk = { at: shapes, bindings: [] };
  visit(walk, statement);
  const { at, bindings } = walk;
  if (at) at.shape ??= { text: textOf(statement) };
  return { shape: at?.shape, bindings };
}

function visit(walk: Walk, piece: Sql): void {
  walk.at = stepTo(walk.at, piece.key);
  if (piece.key === JOIN) walk.at = stepTo(stepTo(walk.at, piece.separator), piece.values.length);
  for (const value of piece.values) {
    if (value instanceof Sql) visit(walk, value);
    else {
      walk.bindings.push(value === undefined ? null : value);
      walk.at = stepTo(walk.at, VALUE);
    }
  }
}

/** The step after `from` for `key`, added while the tree has room; undefined when it has none. */
function stepTo(from: ShapeStep | undefined, key: unknown): ShapeStep | undefined {
  if (from === undefined) return undefined;
  let step = from.next.get(key);
  if (step === undefined && stepCount < MAX_STEPS) {
    step = { next: new Map() };
    from.next.set(key, step);
    stepCount++;
  }
  return step;
}

/** The text of `piece`: its strings with each value a `?` and each nested piece's own text. */
function textOf(piece: Sql): string {
  let text = piece.strings[0];
  piece.values.forEach((value, i) => {
    text += value instanceof Sql ? textOf(value) : '?';
    text += piece.strings[i + 1];
  });
  return text;
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

/** Most shapes {@link query} prepares (each named once): beyond it, statements are sent whole. */
const MAX_PREPARED = 500;
let preparedCount = 0;

/** The name `shape` is prepared under, given on its first prepared use; undefined once {@link MAX_PREPARED} have one. */
function preparedNameOfShape(shape: Shape): string | undefined {
  if (shape.preparedName === undefined) {
    shape.preparedName = preparedCount < MAX_PREPARED ? preparedNameOf('sql', shape.text) : null;
    if (shape.preparedName !== null) preparedCount++;
  }
  return shape.preparedName ?? undefined;
}

/** Where `em` runs SQL: its transaction when it has one, else its connection pool. */
export const connectionOf = (em: EntityManager): Knex => em.getTransactionContext<Knex.Transaction>() ?? em.getConnection().getKnex();

/**
 * Runs `text` on `knex` (a pool or a transaction) with `bindings` as bind parameters, prepared under
 * `name` when given (parsed and planned once per connection, then sent as its name and values alone),
 * and returns its rows. Outside a transaction, a statement PostgreSQL rolls back to break a deadlock
 * runs again (up to {@link DEADLOCK_ATTEMPTS} times in all): it was its own transaction, so nothing of
 * it was kept, and the other party has gone on.
 */
export function runOn<T>(knex: Knex, text: string, bindings: readonly unknown[], name?: string): Promise<T[]> {
  return runShape<T>(knex, shapeOfText(text), bindings, name);
}

/** {@link runOn} for a statement whose shape is known. */
async function runShape<T>(knex: Knex, shape: Shape, bindings: readonly unknown[], name: string | undefined): Promise<T[]> {
  const { text } = shape;
  const positional = knex.isTransaction ? null : positionalText(shape, bindings);
  if (positional === null) {
    const raw = knex.raw<{ rows: T[] }>(text, bindings as Knex.RawBinding[]);
    return (await (name === undefined ? raw : raw.options({ name }))).rows;
  }
  // Outside a transaction a statement needs nothing of the query builder: it goes straight to a pooled
  // connection of the same pool. knex's raw path (compiling the text, its runner, events, response
  // processing) cost a payment's API process about as much CPU as node-postgres itself.
  const pool = knex.client as PoolOf<PgClient>;
  for (let attempt = 1; ; attempt++) {
    const connection = await pool.acquireConnection();
    try {
      // An unnamed statement (`name` undefined) is parsed afresh, as through knex.
      return (await connection.query<T & QueryResultRow>({ text: positional, values: bindings as unknown[], name })).rows;
    } catch (e) {
      if ((e as { code?: string }).code !== DEADLOCK_DETECTED || attempt >= DEADLOCK_ATTEMPTS) throw e;
    } finally {
      void pool.releaseConnection(connection);
    }
  }
}

/** PostgreSQL's SQLSTATE for a transaction rolled back to break a deadlock. */
const DEADLOCK_DETECTED = '40P01';

/**
 * How many times a statement outside a transaction is run when PostgreSQL keeps choosing it to break
 * a deadlock. Statements that lock rows as they find them can meet in one: placing orders of a coupon
 * whose stripes are nearly all full, each locks a stripe that has just filled and waits for another.
 */
const DEADLOCK_ATTEMPTS = 3;

/** The connection pool behind a knex instance, as knex's own runner takes and gives back connections. */
interface PoolOf<C> {
  acquireConnection(): Promise<C>;
  releaseConnection(connection: C): Promise<void>;
}

/** A text with its `?` placeholders numbered (`$1`, `$2`...) and counted; null where only knex can say what to send. */
type Numbered = { text: string; values: number } | null;

/** Shapes of texts not made by {@link sql}, by text: programs have few distinct texts. */
const textShapes = new Map<string, Shape>();
const MAX_TEXT_SHAPES = 1_000;

/** The shape of `text`, kept while there is room (beyond it, a shape of its own each time). */
function shapeOfText(text: string): Shape {
  let shape = textShapes.get(text);
  if (shape === undefined) {
    shape = { text };
    if (textShapes.size < MAX_TEXT_SHAPES) textShapes.set(text, shape);
  }
  return shape;
}

/** The numbered text of a shape, worked out on its first use. */
function numberedOf(shape: Shape): Numbered {
  if (shape.numbered === undefined) shape.numbered = numberPlaceholders(shape.text);
  return shape.numbered;
}

/**
 * The shape's text as PostgreSQL takes it, each `?` numbered and each escaped `\\?` a plain `?`, exactly as knex
 * turns a raw statement into what it sends; null where only knex can say what to send or what is wrong
 * (`??` identifiers, a value count that does not match, undefined values, query-builder values).
 */
function positionalText(shape: Shape, bindings: readonly unknown[]): string | null {
  const { text } = shape;
  if (bindings.length === 0) return text.includes('?') ? null : text;
  if (!bindings.every(isPlainValue)) return null;
  const numbered = numberedOf(shape);
  return numbered !== null && numbered.values === bindings.length ? numbered.text : null;
}

function numberPlaceholders(text: string): Numbered {
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
  const { shape, bindings } = compile(statement);
  if (!shape) return runOn<T>(connectionOf(em), textOf(statement), bindings);
  return runShape<T>(connectionOf(em), shape, bindings, opts.prepared ? preparedNameOfShape(shape) : undefined);
}
