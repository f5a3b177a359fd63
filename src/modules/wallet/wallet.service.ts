import type { EntityManager } from '@mikro-orm/postgresql';
import { decodeCursor, encodeCursor, microsOf, timestampFromMicros } from '../../shared/cursor';
import { BadUserInputError, NotFoundError } from '../../shared/errors';
import { newId } from '../../shared/ids';
import { pageOf } from '../../shared/types';
import { unitOfWork } from '../../shared/unit-of-work';
import { AuditTargetType, type AuditService } from '../audit';
import type { LedgerService } from './ledger.service';
import { AccountKind, EntryKind } from './wallet.entity';
import { DEFAULT_PAGE, type WalletTransactionConnection, type WalletView } from './wallet.types';

interface EntryRow {
  id: string;
  amount: string;
  kind: string;
  order_id: string | null;
  created_at: Date;
  /** created_at in microseconds since the epoch: exact, unlike a JS Date. */
  micros: string;
}

/** Customers' wallets: balances, their history, and admin credits. */
export class WalletService {
  constructor(
    private readonly ledger: LedgerService,
    private readonly currency: string,
    /** Admin credits are recorded in the audit log. */
    private readonly audits: AuditService,
  ) {}

  /** A customer's wallet as it is now (balance 0 before the first credit). */
  async walletOf(em: EntityManager, customerId: string): Promise<WalletView> {
    return { customerId, balance: await this.ledger.balance(em, customerId), currency: this.currency };
  }

  /**
   * A wallet's entries, newest first, `first` per page after the opaque cursor `after`. Served by
   * `ledger_entry_wallet_idx` (customer, created_at, id): WALLET entries, and the rare PAYABLE ones
   * (money owed that the wallet could not take, not part of its balance), name a customer.
   */
  async transactions(em: EntityManager, customerId: string, first: number | null | undefined, after: string | null | undefined): Promise<WalletTransactionConnection> {
    const limit = first ?? DEFAULT_PAGE;
    const params: unknown[] = [customerId];
    let keyset = '';
    if (after) {
      const c = decodeCursor(after);
      keyset = `and (created_at, id) < (${timestampFromMicros}, ?::uuid)`;
      params.push(c.micros, c.id);
    }
    params.push(limit + 1);
    const rows = await em.execute<EntryRow[]>(
      `select id, amount, kind, order_id, created_at, ${microsOf('created_at')} as micros
         from ledger_entry
        where customer_id = ? and account = 'WALLET' ${keyset}
        order by created_at desc, id desc
        limit ?`,
      params,
    );
    return pageOf(rows, limit, (r) => ({
      cursor: encodeCursor({ micros: r.micros, id: r.id }),
      node: {
        id: r.id,
        amount: { amount: Number(r.amount), currency: this.currency },
        kind: r.kind,
        orderId: r.order_id,
        createdAt: new Date(r.created_at),
      },
    }));
  }

  /**
   * Admin: adds `amount` to a customer's wallet from the FUNDING account, once per `reference`.
   * The reference is claimed with `insert ... on conflict do nothing` inside the transaction, so the
   * same call sent twice, even at the same moment, credits once and the later one returns the wallet
   * unchanged. A reference already used for another customer or amount is BAD_USER_INPUT (`reference`):
   * answering as if it had credited would hide a client's mistake. A credit that would take the balance
   * past {@link MAX_WALLET_BALANCE} is BAD_USER_INPUT (`amount`); the guarded update decides races.
   * A credit is recorded in the audit log as made by `actor`; a repeated call, which changes nothing, is not.
   */
  async credit(em: EntityManager, input: { customerId: string; amount: number; reference: string }, actor: string): Promise<WalletView> {
    await unitOfWork(em, async (tx) => {
      const found = await tx.execute<{ id: string }[]>(`select id from customer where id = ?`, [input.customerId]);
      if (found.length === 0) throw new NotFoundError('No such customer');
      const journalId = newId();
      const claimed = await tx.execute<{ reference: string }[]>(
        `insert into wallet_credit (reference, customer_id, amount, journal_id) values (?, ?, ?, ?)
         on conflict (reference) do nothing returning reference`,
        [input.reference, input.customerId, input.amount, journalId],
      );
      if (claimed.length === 0) {
        // The insert waited for a racing claim to settle, so this reads the committed one.
        const [first] = await tx.execute<{ customer_id: string; amount: string }[]>(`select customer_id, amount from wallet_credit where reference = ?`, [
          input.reference,
        ]);
        if (first && (first.customer_id !== input.customerId || Number(first.amount) !== input.amount)) {
          throw BadUserInputError.field('reference', 'already used for a credit of another customer or amount');
        }
        return;
      }
      await this.ledger.post(
        tx,
        [
          { account: AccountKind.FUNDING, amount: -input.amount, kind: EntryKind.CREDIT },
          { account: AccountKind.WALLET, amount: input.amount, kind: EntryKind.CREDIT, customerId: input.customerId, whenFull: 'refuse' },
        ],
        actor,
        { journalId },
      );
      await this.audits.record(tx, {
        actor,
        action: 'creditWallet',
        targetType: AuditTargetType.WALLET,
        targetId: input.customerId,
        details: { amount: input.amount, reference: input.reference, journalId },
      });
    });
    return this.walletOf(em, input.customerId);
  }
}
