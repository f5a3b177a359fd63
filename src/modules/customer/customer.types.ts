import { Length, Matches } from 'class-validator';
import { ArgsType, Field, ID, ObjectType } from 'type-graphql';

@ObjectType('Customer')
export class CustomerType {
  @Field(() => ID)
  id: string;

  @Field(() => String)
  group: string;

  @Field(() => String, { description: 'customer, provider or admin, as the latest token said.' })
  role: string;
}

@ArgsType()
export class SetCustomerGroupArgs {
  @Field(() => ID)
  @Length(1, 64)
  customerId: string;

  @Field(() => String)
  @Length(1, 64)
  @Matches(/^[A-Za-z0-9_.:-]+$/, { message: 'group may hold letters, digits and _ . : - only' })
  group: string;
}
