import { BigIntType, Check, Entity, Enum, Index, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { newId } from '../../shared/ids';
import { Customer } from '../customer';

/**
 * The most a wallet may hold, in minor units: GraphQL's `Int`, so every client can read any balance.
 * A credit that would pass it is refused; what a full wallet cannot take of a payout or a refund is kept
 * in the PAYABLE account (see {@link AccountKind.PAYABLE}).
 */
export const MAX_WALLET_BALANCE = 2_147_483_647;

/**
 * A customer's wallet: the only ledger account whose balance is kept in a row, because it must stay
 * between 0 and {@link MAX_WALLET_BALANCE} (a check constraint, moved with guarded statements). Platform
 * accounts have no row: their balances are sums of insert-only entries, so payments never queue on a
 * shared row.
 */
@Entity({ tableName: 'wallet' })
@Check({ name: 'wallet_balance_check', expression: 'balance >= 0 and balance <= 2147483647' })
export class Wallet {
  [OptionalProps]?: 'balance' | 'updatedAt';

  @ManyToOne(() => Customer, { primary: true, deleteRule: 'restrict' })
  customer: Customer;

  @Property({ type: new BigIntType('number'), default: 0 })
  balance: number = 0;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  updatedAt: Date = new Date();

  // LedgerService creates and moves a wallet with guarded upserts that keep the balance within its
  // bounds; nothing builds one here, so there is no constructor to pretend otherwise.
}

/** Ledger accounts. `WALLET` and `PAYABLE` entries name their customer; the others are the platform's. */
export enum AccountKind {
  WALLET = 'WALLET',
  ESCROW = 'ESCROW',
  TAX = 'TAX',
  PROFIT = 'PROFIT',
  /** Money held by the payment gateway for us, between a charge and its settlement or refund. */
  GATEWAY_CLEARING = 'GATEWAY_CLEARING',
  /** Where admin credits come from (money received outside the system). */
  FUNDING = 'FUNDING',
  /**
   * Money the platform owes a customer that their wallet could not take (it would have passed
   * {@link MAX_WALLET_BALANCE}): the rest of a payout or a refund. Entries name the customer; it is
   * paid to them outside the API, and shows in `orderLedger`.
   */
  PAYABLE = 'PAYABLE',
}

/** What an entry records, shown to customers as `WalletTransaction.kind`. */
export enum EntryKind {
  CREDIT = 'CREDIT',
  PAYMENT = 'PAYMENT',
  REFUND = 'REFUND',
  RELEASE = 'RELEASE',
  PAYOUT = 'PAYOUT',
  /** A balance above {@link MAX_WALLET_BALANCE} moved to PAYABLE (only by the migration that set the cap). */
  HOLD = 'HOLD',
  /** Money the customer paid into their own wallet through the gateway (`topUpWallet`). */
  TOP_UP = 'TOP_UP',
}

/**
 * One line of a journal transaction. Entries are insert-only; the lines of one `journalId` sum to
 * zero, which a deferred constraint trigger checks at commit.
 */
@Entity({ tableName: 'ledger_entry' })
// Only the entries that name a customer: the platform's side of every journal is not a wallet's.
@Index({
  name: 'ledger_entry_wallet_idx',
  expression: `create index "ledger_entry_wallet_idx" on "ledger_entry" ("customer_id", "created_at", "id") where "customer_id" is not null`,
})
@Index({ name: 'ledger_entry_order_idx', properties: ['orderId'] })
@Index({ name: 'ledger_entry_journal_idx', properties: ['journalId'] })
@Check({ name: 'ledger_entry_wallet_customer_check', expression: "(account = 'WALLET' or account = 'PAYABLE') = (customer_id is not null)" })
@Check({ name: 'ledger_entry_amount_check', expression: 'amount <> 0' })
export class LedgerEntry {
  [OptionalProps]?: 'customer' | 'orderId' | 'createdAt' | 'actor';

  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @Property({ type: 'uuid' })
  journalId: string;

  @Enum({ items: () => AccountKind })
  account: AccountKind;

  /** The wallet's customer, for `WALLET` entries; the customer owed, for `PAYABLE` entries. */
  @ManyToOne(() => Customer, { nullable: true, deleteRule: 'restrict' })
  customer: Customer | null = null;

  @Property({ type: 'uuid', nullable: true })
  orderId: string | null = null;

  /** Signed, minor units: positive into the account. */
  @Property({ type: new BigIntType('number') })
  amount: number;

  @Enum({ items: () => EntryKind })
  kind: EntryKind;

  /** Who caused it: a customer id, or `system:<job>`. */
  @Property({ type: 'string', length: 80, nullable: true })
  actor: string | null = null;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  // LedgerService.post inserts a journal's lines in one multi-row statement (insert-only, summing to
  // zero); nothing builds one here, so there is no constructor to pretend otherwise.
}

/** An admin credit, keyed by its `reference` so the same reference credits once. */
@Entity({ tableName: 'wallet_credit' })
export class WalletCredit {
  [OptionalProps]?: 'createdAt';

  @PrimaryKey({ type: 'string', length: 200 })
  reference: string;

  @ManyToOne(() => Customer, { deleteRule: 'restrict' })
  customer: Customer;

  @Property({ type: new BigIntType('number') })
  amount: number;

  @Property({ type: 'uuid' })
  journalId: string;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  // WalletService inserts it with on conflict (reference) so a reference credits once; nothing builds
  // one here, so there is no constructor to pretend otherwise.
}
