import { Check, Entity, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * A job asked for by a committed change, waiting to be relayed to graphile-worker (see `enqueue` and
 * `startOutboxRelay` in jobs.ts). Rows are written by SQL (`enqueue`, the database function
 * `job_enqueue`) and removed by the relay, never through the ORM: this entity is the table's
 * description, with no constructor to pretend otherwise.
 */
@Entity({ tableName: 'job_outbox' })
@Check({ name: 'job_outbox_max_attempts_check', expression: 'max_attempts >= 1 and max_attempts <= 32767' })
export class JobOutboxRow {
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @Property({ type: 'text' })
  task!: string;

  @Property({ type: 'jsonb' })
  payload!: object;

  @Property({ type: 'text', nullable: true })
  jobKey!: string | null;

  @Property({ type: 'datetime', nullable: true })
  runAt!: Date | null;

  @Property({ type: 'integer', default: 25 })
  maxAttempts!: number;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt!: Date;
}
