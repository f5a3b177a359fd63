/** The audit log: one entry per admin mutation and per system change worth answering for. */
import { AuditEntry } from './audit.entity';
import { AuditResolver } from './audit.resolver';

export { AuditEntry, AuditTargetType } from './audit.entity';
export { AuditService, type AuditRecord } from './audit.service';
export { AuditResolver };

/** The module's entities, for the ORM. */
export const entities = [AuditEntry];
/** The module's resolvers, for the schema. */
export const resolvers = [AuditResolver] as const;
