import { Args, Ctx, Query, Resolver } from 'type-graphql';
import type { Context } from '../../context';
import type { AuditPage } from './audit.service';
import { AuditEntryConnection, AuditEntryType, AuditLogArgs } from './audit.types';

@Resolver(() => AuditEntryType)
export class AuditResolver {
  @Query(() => AuditEntryConnection, { description: 'Admin. The audit log, newest first.' })
  async auditLog(@Args(() => AuditLogArgs) args: AuditLogArgs, @Ctx() ctx: Context): Promise<AuditPage> {
    await ctx.requireAdmin();
    return ctx.services.audits.list(ctx.em, args);
  }
}
