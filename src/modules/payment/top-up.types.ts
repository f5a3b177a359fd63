import { IsInt } from 'class-validator';
import { ArgsType, Field, Int, ObjectType } from 'type-graphql';
import { Money } from '../../shared/types';

/** GraphQL `WalletTopUp`: where the customer pays a top-up of their own wallet. */
@ObjectType('WalletTopUp')
export class WalletTopUpType {
  @Field(() => String, { description: 'Where the customer pays the top-up with the gateway.' })
  checkoutUrl: string;

  @Field(() => Money)
  amount: Money;
}

@ArgsType()
export class TopUpWalletArgs {
  /** Minor units, 1 to the most `creditWallet` takes (checked by the service, which says BAD_USER_INPUT). */
  @Field(() => Int)
  @IsInt()
  amount: number;
}
