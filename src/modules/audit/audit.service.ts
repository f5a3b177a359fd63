import type { EntityManager } from '@mikro-orm/postgresql';
import { decodeCursor, encodeCursor, microsOf, pageRequest, timestampFromMicros, type KeysetCursor } from '../../shared/cursor';
import { newId } from '../../shared/ids';
import { pageOf, type Page } from '../../shared/types';
import type { AuditTargetType } from './audit.entity';

/** One entry to record: who did what to which thing, and the arguments that mattered. */
export interface AuditRecord {
  /** A customer id, or `system:<what>` (e.g. `system:timeout`, `system:gateway`, `system:delivery`). */
  actor: string;
  /** The mutation or job, e.g. `updatePlan`, `orderTimeout`. */
  action: string;
  targetType: AuditTargetType;
  /** The id of what it touched; a wallet is named by its customer's id. */
  targetId: string;
  /** The arguments that mattered; stored as JSON (dates as ISO text). */
  details?: Record<string, unknown> | null;
}

/** An audit entry as the back office reads it. */
export interface AuditEntryView {
  id: string;
  at: Date;
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  /** The details as JSON text, or null. */
  details: string | null;
}

/** One page of the audit log. */
export type AuditPage = Page<AuditEntryView>;

interface AuditRow {
  id: string;
  at: Date;
  actor: string;
  action: string;
  target_type: string;
  target_id: string;
  details: string | null;
  micros: string;
}

/** Longest actor kept: a customer id is at most 64 characters, `system:<what>` a little more. */
const MAX_ACTOR = 80;

/**
 * The audit log: what admins, providers and the system did. {@link AuditService.record} writes inside the
 * caller's transaction, so an entry exists exactly when its change was committed; the database refuses
 * to change or delete entries.
 */
export class AuditService {
  /**
   * Records one entry in `tx`, the transaction making the change. Refuses to run outside a transaction:
   * an entry written on its own could survive a change that rolled back, or be lost from one that did not.
   * Entries of one transaction keep the order they were recorded in (`clock_timestamp()`).
   */
  async record(tx: EntityManager, entry: AuditRecord): Promise<void> {
    if (!tx.isInTransaction()) throw new Error(`audit entry ${entry.action} must be recorded in the transaction of its change`);
    await tx.execute(
      `insert into audit_entry (id, at, actor, action, target_type, target_id, details) values (?, clock_timestamp(), ?, ?, ?, ?, ?::jsonb)`,
      [
        newId(),
        entry.actor.slice(0, MAX_ACTOR),
        entry.action,
        entry.targetType,
        entry.targetId.slice(0, 255),
        entry.details == null ? null : JSON.stringify(entry.details),
      ],
    );
  }

  /**
   * Admin: entries of `actor` and about `targetId` (each when given; both combine with AND), newest
   * first, by keyset pagination on (at, id) with the shared cursor codec: pages stay stable while
   * entries are added. `first` 1 to 100, default 20; `after` a cursor of this list (BAD_USER_INPUT
   * otherwise). Each filter reads its own index (see the AuditEntry entity) in order, stopping after a page.
   */
  async list(em: EntityManager, args: { actor?: string | null; targetId?: string | null; first?: number | null; after?: string | null }): Promise<AuditPage> {
    const { first, after } = pageRequest(args, decodeCursor);
    const { sql, params } = auditLogQuery({ actor: args.actor ?? null, targetId: args.targetId ?? null }, after, first + 1);
    const rows = await em.execute<AuditRow[]>(sql, params);
    return pageOf(rows, first, (r) => ({
      cursor: encodeCursor({ micros: r.micros, id: r.id }),
      node: {
        id: r.id,
        at: new Date(r.at),
        actor: r.actor,
        action: r.action,
        targetType: r.target_type,
        targetId: r.target_id,
        details: r.details,
      },
    }));
  }
}

/**
 * The SQL of one page of the audit log: entries of `filter.actor` and `filter.targetId` (each when not
 * null), after `after` in (at, id) descending order, at most `limit` rows. Each filter is served by its
 * index read backwards in list order: (at, id), (actor, at, id), (target_id, at, id) or (actor, target_id, at, id).
 */
export function auditLogQuery(filter: { actor: string | null; targetId: string | null }, after: KeysetCursor | null, limit: number): { sql: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.actor !== null) {
    where.push('actor = ?');
    params.push(filter.actor);
  }
  if (filter.targetId !== null) {
    where.push('target_id = ?');
    params.push(filter.targetId);
  }
  if (after) {
    where.push(`(at, id) < (${timestampFromMicros}, ?::uuid)`);
    params.push(after.micros, after.id);
  }
  params.push(limit);
  return {
    sql: `select id, at, actor, action, target_type, target_id, details::text as details, ${microsOf('at')} as micros
            from audit_entry
           ${where.length ? `where ${where.join(' and ')}` : ''}
           order by at desc, id desc
           limit ?`,
    params,
  };
}
