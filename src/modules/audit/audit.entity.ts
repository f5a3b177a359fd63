import { Entity, Enum, Index, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { newId } from '../../shared/ids';

/** What an audit entry may name as touched (CONTRACT.md, `AuditEntry.targetType`). */
export enum AuditTargetType {
  ORDER = 'Order',
  PLAN = 'Plan',
  COUPON = 'Coupon',
  CUSTOMER = 'Customer',
  /** A customer's wallet, named by the customer's id. */
  WALLET = 'Wallet',
}

/**
 * One thing an admin, a provider or the system did to the books, the catalogue or an order. Written in
 * the transaction of the change it records; the database refuses to update or delete it (a trigger,
 * like the ledger's), so the log can be trusted to say what happened. Each listing filter has its
 * keyset index, newest first: all entries (at, id), by actor (actor, at, id), by target (target_id, at, id),
 * by both (actor, target_id, at, id): `system:timeout` on one order must not read every timeout.
 */
@Entity({ tableName: 'audit_entry' })
@Index({ name: 'audit_entry_at_idx', properties: ['at', 'id'] })
@Index({ name: 'audit_entry_actor_idx', properties: ['actor', 'at', 'id'] })
@Index({ name: 'audit_entry_target_idx', properties: ['targetId', 'at', 'id'] })
@Index({ name: 'audit_entry_actor_target_idx', properties: ['actor', 'targetId', 'at', 'id'] })
export class AuditEntry {
  [OptionalProps]?: 'at' | 'details';

  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  at: Date = new Date();

  /** A customer id (up to 64 characters), or `system:<what>`. */
  @Property({ type: 'string', length: 80 })
  actor: string;

  /** The mutation or job, e.g. `creditWallet`, `orderTimeout`. */
  @Property({ type: 'string', length: 64 })
  action: string;

  @Enum({ items: () => AuditTargetType })
  targetType: AuditTargetType;

  /** The id of what it touched; a wallet is named by its customer's id. */
  @Property({ type: 'string', length: 255 })
  targetId: string;

  /** The arguments that mattered. */
  @Property({ type: 'json', nullable: true })
  details: unknown = null;

  // AuditService.record inserts entries with one SQL statement (clock_timestamp(), jsonb details) in the
  // transaction of the change it records; nothing builds one here, so there is no constructor to pretend otherwise.
}
