import { IsInt, IsOptional, MaxLength } from 'class-validator';
import { ArgsType, Field, ID, Int, ObjectType } from 'type-graphql';
import { Connection } from '../../shared/types';

@ObjectType('AuditEntry', { description: 'Something an admin, a provider or the system did to the books, the catalogue or an order.' })
export class AuditEntryType {
  @Field(() => ID)
  id: string;

  @Field(() => Date)
  at: Date;

  @Field(() => String, { description: 'A customer id, or system:<what>.' })
  actor: string;

  @Field(() => String, { description: 'The mutation or job, e.g. creditWallet, updatePlan, refundOrder, setDeliveryStatus, orderTimeout.' })
  action: string;

  @Field(() => String, { description: 'What it touched: Order, Plan, Coupon, Customer, Wallet.' })
  targetType: string;

  @Field(() => String, { description: "The id of what it touched; a wallet is named by its customer's id." })
  targetId: string;

  @Field(() => String, { nullable: true, description: 'The arguments that mattered, as JSON text.' })
  details: string | null;
}

@ObjectType('AuditEntryConnection')
export class AuditEntryConnection extends Connection('AuditEntry', AuditEntryType) {}

@ArgsType()
export class AuditLogArgs {
  /** A customer id or `system:<what>`; longer texts name no actor. */
  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(80)
  actor?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(255)
  targetId?: string | null;

  /** 1 to 100, default 20 (checked by the service, which says BAD_USER_INPUT outside that range). */
  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  first?: number | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(400)
  after?: string | null;
}
