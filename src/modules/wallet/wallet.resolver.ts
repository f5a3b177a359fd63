import { Args, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { CallerContext } from '../../shared/caller';
import { Money } from '../../shared/types';
import type { WalletService } from './wallet.service';
import { CreditWalletArgs, WalletTransactionConnection, WalletTransactionsArgs, WalletType, type WalletView } from './wallet.types';

/** The part of the request context these resolvers use. */
type Context = CallerContext<{ wallets: WalletService }>;

@Resolver(() => WalletType)
export class WalletResolver {
  @Query(() => WalletType)
  async wallet(@Ctx() ctx: Context): Promise<WalletView> {
    return ctx.services.wallets.walletOf(ctx.em, await ctx.customerId());
  }

  @Mutation(() => WalletType, { description: "Admin. Adds money to a customer's wallet; the same reference twice credits once." })
  async creditWallet(@Args(() => CreditWalletArgs) args: CreditWalletArgs, @Ctx() ctx: Context): Promise<WalletView> {
    const admin = await ctx.requireAdmin();
    return ctx.services.wallets.credit(ctx.em, args, admin.id);
  }

  @FieldResolver(() => Money)
  balance(@Root() wallet: WalletView): Money {
    return new Money(wallet.balance, wallet.currency);
  }

  @FieldResolver(() => WalletTransactionConnection)
  transactions(@Root() wallet: WalletView, @Args(() => WalletTransactionsArgs) args: WalletTransactionsArgs, @Ctx() ctx: Context): Promise<WalletTransactionConnection> {
    return ctx.services.wallets.transactions(ctx.em, wallet.customerId, args.first, args.after);
  }
}
