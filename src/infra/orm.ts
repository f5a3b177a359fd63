import { MikroORM, type Options } from '@mikro-orm/core';
import { Migrator } from '@mikro-orm/migrations';
import { type PostgreSqlDriver, defineConfig, type EntityManager } from '@mikro-orm/postgresql';
import { migrationsList } from '../../migrations';

export type { EntityManager };
export type Orm = MikroORM<PostgreSqlDriver>;

/** Optional observers of the ORM. */
export interface OrmHooks {
  /** Called with every SQL statement the ORM sends (e.g. to measure how many queries a request costs). */
  onQuery?: (sql: string) => void;
}

/** The entity classes the ORM maps; the caller lists them (src/entities.ts), this layer knows none. */
export type EntityList = NonNullable<Options<PostgreSqlDriver>['entities']>;

/**
 * How long a pooled connection may sit unused before it is closed. A new connection is a new
 * PostgreSQL backend that must load its catalogue caches and prepare and plan each hot statement
 * again (the order and payment statements are large), so closing connections between bursts of
 * traffic and opening them again in the next burst puts that work on the burst, just when the load
 * peaks: with 30 s, two instances driven at 500 changes a second after a lull of half a minute opened
 * five connections within two seconds, and stalls of 150 to 340 ms held up the changes of those
 * seconds. Ten minutes keeps what a burst opened through the lulls of ordinary traffic and still
 * gives them back after a peak.
 */
const POOL_IDLE_MS = 10 * 60_000;

/** The session setting that holds a connection's slot (see {@link ConnectionSlots}). */
export const CONNECTION_SLOT_SETTING = 'commerce.connection_slot';

/**
 * Gives each pooled connection of this process a small number that no other live connection of the
 * process holds, as the session setting {@link CONNECTION_SLOT_SETTING}: a statement that spreads its
 * writes over a few rows by connection (a coupon's use stripes) then sends each connection of an
 * instance to a row of its own. By the backend's process id modulo sixteen stripes, ten connections
 * share a stripe in 95 % of cases, and each of such a pair waits for the other's commit.
 * The numbers start at a random offset per process, so two instances' connections mostly differ too.
 * A connection gives its number back when it closes.
 */
class ConnectionSlots {
  private readonly offset = Math.floor(Math.random() * 1024);
  private readonly held = new Set<number>();

  /** knex's `afterCreate`: sets the new connection's slot before the pool hands it out. */
  readonly afterCreate = (connection: PgConnection, done: (e: Error | null) => void): void => {
    let index = 0;
    while (this.held.has(index)) index++;
    this.held.add(index);
    connection.once('end', () => this.held.delete(index));
    connection.query(`select set_config('${CONNECTION_SLOT_SETTING}', $1, false)`, [String(this.offset + index)], (e: Error | null) => done(e));
  };
}

/** What {@link ConnectionSlots} uses of a node-postgres client. */
interface PgConnection {
  once(event: 'end', listener: () => void): unknown;
  query(text: string, values: string[], callback: (e: Error | null) => void): unknown;
}

/** MikroORM options for a database URL and the entities to map. */
export function ormOptions(entities: EntityList, clientUrl: string, poolSize: number, hooks: OrmHooks = {}): Options<PostgreSqlDriver> {
  return defineConfig({
    clientUrl,
    entities,
    extensions: [Migrator],
    forceUtcTimezone: true,
    allowGlobalContext: false,
    debug: hooks.onQuery ? ['query'] : false,
    ...(hooks.onQuery ? { logger: hooks.onQuery } : {}),
    pool: { min: 0, max: poolSize, idleTimeoutMillis: POOL_IDLE_MS, afterCreate: new ConnectionSlots().afterCreate },
    driverOptions: { connection: { statement_timeout: 30_000, connectionTimeoutMillis: 5_000 } },
    discovery: { warnWhenNoEntities: true },
    migrations: {
      path: 'migrations',
      pathTs: 'migrations',
      migrationsList,
      emit: 'ts',
      snapshot: false,
      transactional: true,
      allOrNothing: true,
      tableName: 'mikro_orm_migrations',
    },
    schemaGenerator: { ignoreSchema: ['graphile_worker'] },
  });
}

/** Connects to the database, mapping `entities`. */
export async function initOrm(entities: EntityList, clientUrl: string, poolSize: number, hooks?: OrmHooks): Promise<Orm> {
  return MikroORM.init<PostgreSqlDriver>(ormOptions(entities, clientUrl, poolSize, hooks));
}

/** Applies every pending migration. */
export async function migrate(orm: Orm): Promise<void> {
  await orm.getMigrator().up();
}
