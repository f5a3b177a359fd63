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
    pool: { min: 0, max: poolSize, idleTimeoutMillis: 30_000 },
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
