import { BigIntType, Check, Entity, Enum, Index, ManyToOne, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { newId } from '../../shared/ids';
import { Customer } from '../customer';

/** Where a wallet top-up stands. */
export enum TopUpStatus {
  /** Its Checkout Session is open: the customer may pay it. */
  OPEN = 'OPEN',
  /** Paid, and the wallet credited (once, by the journal `journalId`). */
  CREDITED = 'CREDITED',
  /** Paid, but not a credit (another amount, a full wallet, a late payment): the money goes back through the gateway. */
  REFUNDED = 'REFUNDED',
  /** The session expired unpaid. */
  EXPIRED = 'EXPIRED',
  /** A delayed payment method failed after the customer completed the checkout: nothing was paid. */
  FAILED = 'FAILED',
}

/**
 * A customer's top-up of their own wallet through the gateway (`topUpWallet`): the Checkout Session
 * opened for it, and what became of it. The wallet is credited when the gateway reports the session paid,
 * once: the session's charge is claimed in `gateway_charge` (keyed by session id) and the status moves
 * from OPEN with a guarded update, so however often the event comes, one journal credits it.
 */
@Entity({ tableName: 'wallet_top_up' })
@Index({ name: 'wallet_top_up_customer_idx', properties: ['customer', 'createdAt'] })
@Check({ name: 'wallet_top_up_amount_check', expression: 'amount > 0' })
@Check({ name: 'wallet_top_up_credited_check', expression: "(status = 'CREDITED') = (journal_id is not null)" })
export class WalletTopUp {
  [OptionalProps]?: 'status' | 'journalId' | 'expiresAt' | 'createdAt' | 'settledAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @ManyToOne(() => Customer, { deleteRule: 'restrict' })
  customer: Customer;

  /** Minor units of the deployment's currency. */
  @Property({ type: new BigIntType('number') })
  amount: number;

  @Property({ type: 'string', length: 3 })
  currency: string;

  /** The gateway's Checkout Session id (cs_...). */
  @Property({ type: 'string', length: 255 })
  @Unique({ name: 'wallet_top_up_session_unique' })
  sessionId: string;

  @Property({ type: 'text' })
  checkoutUrl: string;

  @Enum({ items: () => TopUpStatus, default: TopUpStatus.OPEN })
  status: TopUpStatus = TopUpStatus.OPEN;

  /** The ledger journal that credited the wallet; set once, when CREDITED. */
  @Property({ type: 'uuid', nullable: true })
  @Unique({ name: 'wallet_top_up_journal_unique' })
  journalId: string | null = null;

  /** When the gateway stops accepting payment of the session. */
  @Property({ type: 'datetime', nullable: true })
  expiresAt: Date | null = null;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  /** When it left OPEN. */
  @Property({ type: 'datetime', nullable: true })
  settledAt: Date | null = null;

  // Inserted by SQL in TopUpService with its checkout session; nothing builds one here, so there is no
  // constructor to pretend otherwise.
}
