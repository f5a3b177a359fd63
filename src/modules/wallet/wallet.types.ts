import { IsInt, IsOptional, Length, Matches, Max, MaxLength, Min } from 'class-validator';
import { ArgsType, Field, ID, Int, ObjectType } from 'type-graphql';
import { ONE_LINE, ONE_LINE_MESSAGE } from '../../shared/text';
import { Connection, Money } from '../../shared/types';

/** Largest single admin credit, in minor units. */
export const MAX_CREDIT = 100_000_000;
/** Page size of `Wallet.transactions` when `first` is not given, and the most one page may hold. */
export const DEFAULT_PAGE = 20;
export const MAX_PAGE = 100;

/** The source object of GraphQL `Wallet`: whose wallet, and its balance when read. */
export interface WalletView {
  customerId: string;
  balance: number;
  currency: string;
}

/** GraphQL `Wallet`; its source is a {@link WalletView}, its fields are resolved by the wallet resolver. */
@ObjectType('Wallet')
export class WalletType {}

/** One ledger entry of a wallet, as its owner sees it. */
@ObjectType('WalletTransaction')
export class WalletTransactionType {
  @Field(() => ID)
  id: string;

  @Field(() => Money, { description: 'Positive for money in, negative for money out.' })
  amount: Money;

  @Field(() => String, { description: 'CREDIT, TOP_UP, PAYMENT, REFUND, RELEASE or PAYOUT.' })
  kind: string;

  @Field(() => ID, { nullable: true })
  orderId: string | null;

  @Field(() => Date)
  createdAt: Date;
}

@ObjectType('WalletTransactionConnection')
export class WalletTransactionConnection extends Connection('WalletTransaction', WalletTransactionType) {}

@ArgsType()
export class WalletTransactionsArgs {
  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE)
  first?: number | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(200)
  after?: string | null;
}

@ArgsType()
export class CreditWalletArgs {
  @Field(() => ID)
  @Length(1, 64)
  customerId: string;

  @Field(() => Int)
  @IsInt()
  @Min(1, { message: 'amount must be a positive number of minor units' })
  @Max(MAX_CREDIT, { message: `amount must be at most ${MAX_CREDIT} minor units` })
  amount: number;

  @Field(() => String)
  @Length(1, 200)
  @Matches(ONE_LINE, { message: `reference ${ONE_LINE_MESSAGE}` })
  reference: string;
}
