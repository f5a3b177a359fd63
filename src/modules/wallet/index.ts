/** Wallets and the double-entry ledger every money movement is written to. */
import { LedgerResolver } from './ledger.resolver';
import { LedgerEntry, Wallet, WalletCredit } from './wallet.entity';
import { WalletResolver } from './wallet.resolver';

export { LedgerService, type LedgerLine } from './ledger.service';
export { AccountKind, EntryKind, LedgerEntry, MAX_WALLET_BALANCE, Wallet, WalletCredit } from './wallet.entity';
export { WalletService } from './wallet.service';
export { MAX_CREDIT } from './wallet.types';
export { LedgerResolver, WalletResolver };

/** The module's entities, for the ORM. */
export const entities = [Wallet, LedgerEntry, WalletCredit];
/** The module's resolvers, for the schema. */
export const resolvers = [WalletResolver, LedgerResolver] as const;
