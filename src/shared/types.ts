import { Field, Int, ObjectType } from 'type-graphql';

/** An amount in minor units with its currency. */
@ObjectType()
export class Money {
  @Field(() => Int, { description: "Integer amount in the currency's minor unit (e.g. cents)." })
  amount: number;

  @Field(() => String, { description: 'ISO 4217 code, e.g. USD.' })
  currency: string;

  constructor(amount: number, currency: string) {
    this.amount = amount;
    this.currency = currency;
  }
}

@ObjectType()
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage: boolean;

  @Field(() => String, { nullable: true })
  endCursor: string | null;

  constructor(hasNextPage: boolean, endCursor: string | null) {
    this.hasNextPage = hasNextPage;
    this.endCursor = endCursor;
  }
}
