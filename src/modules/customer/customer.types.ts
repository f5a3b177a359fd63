import { IsInt, IsOptional, Length, Matches, MaxLength } from 'class-validator';
import { ArgsType, Field, ID, Int, ObjectType } from 'type-graphql';
import { Connection } from '../../shared/types';

/** Customer group names: letters, digits and `_ . : -`. */
const GROUP = /^[A-Za-z0-9_.:-]+$/;

@ObjectType('Customer')
export class CustomerType {
  @Field(() => ID)
  id: string;

  @Field(() => String)
  group: string;

  @Field(() => String, { description: 'customer, provider or admin, as last seen in a token.' })
  role: string;

  @Field(() => Date)
  createdAt: Date;
}

@ObjectType('CustomerConnection')
export class CustomerConnection extends Connection('Customer', CustomerType) {}

@ArgsType()
export class SetCustomerGroupArgs {
  @Field(() => ID)
  @Length(1, 64)
  customerId: string;

  @Field(() => String)
  @Length(1, 64)
  @Matches(GROUP, { message: 'group may hold letters, digits and _ . : - only' })
  group: string;
}

@ArgsType()
export class CustomersArgs {
  /** Part of a customer id, any case; ids are at most 64 characters. */
  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(64)
  search?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @Length(1, 64)
  group?: string | null;

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
