import { Args, Ctx, Mutation, Resolver } from 'type-graphql';
import type { CallerContext } from '../../shared/caller';
import { Money } from '../../shared/types';
import type { PaymentServices } from './payment.services';
import { TopUpWalletArgs, WalletTopUpType } from './top-up.types';

/** The part of the request context these resolvers use. */
type Context = CallerContext<{ payments: PaymentServices }>;

@Resolver(() => WalletTopUpType)
export class TopUpResolver {
  @Mutation(() => WalletTopUpType, { description: "Opens a gateway checkout that adds amount to the caller's own wallet once paid." })
  async topUpWallet(@Args(() => TopUpWalletArgs) { amount }: TopUpWalletArgs, @Ctx() ctx: Context): Promise<WalletTopUpType> {
    const opened = await ctx.services.payments.topUps.open(ctx.em, await ctx.customerId(), amount);
    return { checkoutUrl: opened.checkoutUrl, amount: new Money(opened.amount, opened.currency) };
  }
}
