import { Args, ArgsType, Ctx, Field, ID, ObjectType, Query, registerEnumType, Resolver } from 'type-graphql';
import type { CallerContext } from '../../shared/caller';
import { Money } from '../../shared/types';
import type { LedgerService } from './ledger.service';
import { AccountKind, EntryKind } from './wallet.entity';

/** The part of the request context these resolvers use. */
type Context = CallerContext<{ ledger: LedgerService }>;

registerEnumType(AccountKind, {
  name: 'LedgerAccount',
  description: 'A ledger account: a customer wallet, or one of the platform’s.',
  valuesConfig: {
    PAYABLE: { description: 'Owed to a customer whose wallet could not take it (it would have passed 2,147,483,647); paid outside the API.' },
  },
});
registerEnumType(EntryKind, {
  name: 'LedgerEntryKind',
  description: 'What a ledger entry records.',
  valuesConfig: { HOLD: { description: 'A balance above the wallet maximum moved to PAYABLE.' } },
});

/** One line of the double-entry ledger, for audits: every money movement of an order with who caused it. */
@ObjectType({ description: 'One ledger line (admin audit view).' })
export class LedgerEntryView {
  @Field(() => ID)
  id: string;

  @Field(() => ID, { description: 'The journal (balanced transaction) the line belongs to; its lines sum to zero.' })
  journalId: string;

  @Field(() => AccountKind)
  account: AccountKind;

  @Field(() => ID, { nullable: true, description: 'The wallet’s customer, for WALLET lines; the customer owed, for PAYABLE lines.' })
  customerId: string | null;

  @Field(() => Money, { description: 'Signed: positive into the account.' })
  amount: Money;

  @Field(() => EntryKind)
  kind: EntryKind;

  @Field(() => String, { nullable: true, description: 'Who caused it: a customer id, or system:<job>.' })
  actor: string | null;

  @Field(() => Date)
  createdAt: Date;
}

@ArgsType()
export class OrderLedgerArgs {
  @Field(() => ID)
  orderId: string;
}

/** Admin audit of the money movements of one order. */
@Resolver()
export class LedgerResolver {
  @Query(() => [LedgerEntryView], { description: 'Admin. Every ledger entry of an order, oldest first.' })
  async orderLedger(@Args(() => OrderLedgerArgs) { orderId }: OrderLedgerArgs, @Ctx() ctx: Context): Promise<LedgerEntryView[]> {
    await ctx.requireAdmin();
    const rows = await ctx.services.ledger.entriesOfOrder(ctx.em, orderId);
    return rows.map((r) => ({ ...r, amount: new Money(r.amount, ctx.config.currency) }));
  }
}
