import { Args, Ctx, Query, Resolver } from 'type-graphql';
import type { CallerContext } from '../../shared/caller';
import type { AuditPage, AuditService } from './audit.service';
import { AuditEntryConnection, AuditEntryType, AuditLogArgs } from './audit.types';

/** The part of the request context these resolvers use. */
type Context = CallerContext<{ audits: AuditService }>;

@Resolver(() => AuditEntryType)
export class AuditResolver {
  @Query(() => AuditEntryConnection, { description: 'Admin. The audit log, newest first.' })
  async auditLog(@Args(() => AuditLogArgs) args: AuditLogArgs, @Ctx() ctx: Context): Promise<AuditPage> {
    await ctx.requireAdmin();
    return ctx.services.audits.list(ctx.em, args);
  }
}
