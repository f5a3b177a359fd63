import type { EntityManager } from '@mikro-orm/postgresql';
import { BadUserInputError, InsufficientBalanceError } from '../../shared/errors';
import { isUuid, newId } from '../../shared/ids';
import { AccountKind, EntryKind, MAX_WALLET_BALANCE } from './wallet.entity';

/** One line of a journal transaction. */
export interface LedgerLine {
  account: AccountKind;
  /** Signed minor units: positive into the account. */
  amount: number;
  kind: EntryKind;
  /** Required for WALLET lines (whose wallet) and PAYABLE lines (who is owed); absent otherwise. */
  customerId?: string;
  orderId?: string | null;
  /**
   * What a WALLET line paying in does when the wallet cannot take all of it without passing
   * {@link MAX_WALLET_BALANCE}: `refuse` (BAD_USER_INPUT on `amount`, the transaction rolls back) or
   * `hold` (the wallet takes what fits; the rest goes to PAYABLE for the same customer, same kind).
   * By default money the platform owes (REFUND, PAYOUT) is held and anything else refused: a refund or
   * a provider's share cannot be turned down, a top-up can.
   */
  whenFull?: 'refuse' | 'hold';
}

/** Accounts whose lines name a customer. */
const NAMED_ACCOUNTS = new Set([AccountKind.WALLET, AccountKind.PAYABLE]);

/**
 * The double-entry ledger. A journal's lines must sum to zero (checked here, and again by the
 * database at commit). Wallet lines also move the wallet's balance row with a guarded update, so a
 * balance can never go negative nor past {@link MAX_WALLET_BALANCE} however many movements race;
 * platform accounts are insert-only.
 */
export class LedgerService {
  /**
   * Posts a balanced journal inside the caller's transaction and returns its id. A wallet debit beyond
   * the balance throws INSUFFICIENT_BALANCE, a refused wallet credit past the cap BAD_USER_INPUT (the
   * caller's transaction then rolls back whole); a held one is split between the wallet and PAYABLE
   * (see {@link LedgerLine.whenFull}), so the journal still balances.
   * `actor` records who caused it: a customer id or `system:<job>`. `opts.journalId` lets a caller
   * record the journal's id elsewhere (e.g. an admin credit) before posting it.
   */
  async post(tx: EntityManager, lines: LedgerLine[], actor: string, opts: { journalId?: string } = {}): Promise<string> {
    const lines_ = lines.filter((l) => l.amount !== 0);
    if (lines_.length === 0) throw new Error('empty journal');
    const sum = lines_.reduce((s, l) => s + l.amount, 0);
    if (sum !== 0 || lines_.some((l) => !Number.isSafeInteger(l.amount))) throw new Error(`unbalanced journal (sum ${sum})`);
    for (const l of lines_) {
      if (NAMED_ACCOUNTS.has(l.account) !== Boolean(l.customerId)) throw new Error('wallet and payable lines, and only they, name a customer');
    }

    // Debits first, in a stable order, so two journals touching the same wallets lock them alike.
    const walletLines = lines_.filter((l) => l.account === AccountKind.WALLET).sort((a, b) => a.amount - b.amount || a.customerId!.localeCompare(b.customerId!));
    const taken = new Map<LedgerLine, number>();
    for (const l of walletLines) taken.set(l, await this.moveWallet(tx, l));

    const posted = lines_.flatMap((l): LedgerLine[] => {
      const inWallet = taken.get(l);
      if (inWallet === undefined || inWallet === l.amount) return [l];
      const held: LedgerLine = { account: AccountKind.PAYABLE, amount: l.amount - inWallet, kind: l.kind, customerId: l.customerId, orderId: l.orderId };
      return inWallet === 0 ? [held] : [{ ...l, amount: inWallet }, held];
    });
    const journalId = opts.journalId ?? newId();
    const values: unknown[] = [];
    const rows = posted.map((l) => {
      values.push(newId(), journalId, l.account, l.customerId ?? null, l.orderId ?? null, l.amount, l.kind, actor.slice(0, 80));
      return '(?, ?, ?, ?, ?, ?, ?, ?)';
    });
    await tx.execute(
      `insert into ledger_entry (id, journal_id, account, customer_id, order_id, amount, kind, actor) values ${rows.join(', ')}`,
      values,
    );
    return journalId;
  }

  /**
   * Adds a WALLET line's amount (signed) to its wallet and returns how much the wallet took: all of a
   * debit (or INSUFFICIENT_BALANCE), all of a credit that fits, and of one that does not, nothing
   * (BAD_USER_INPUT) or, when held, what fits. Each is one guarded statement on the wallet row, which
   * re-checks the limit against the latest balance when racing movements queue on it.
   */
  private async moveWallet(tx: EntityManager, l: LedgerLine): Promise<number> {
    const customerId = l.customerId!;
    if (l.amount < 0) {
      const updated = await tx.execute(
        `update wallet set balance = balance + ?, updated_at = now() where customer_id = ? and balance + ? >= 0 returning balance`,
        [l.amount, customerId, l.amount],
      );
      if (updated.length === 0) throw new InsufficientBalanceError();
      return l.amount;
    }
    if (l.amount <= MAX_WALLET_BALANCE) {
      const added = await tx.execute(
        `insert into wallet (customer_id, balance) values (?, ?)
         on conflict (customer_id) do update set balance = wallet.balance + excluded.balance, updated_at = now()
          where wallet.balance + excluded.balance <= ?
         returning balance`,
        [customerId, l.amount, MAX_WALLET_BALANCE],
      );
      if (added.length === 1) return l.amount;
    }
    const hold = l.whenFull ? l.whenFull === 'hold' : l.kind === EntryKind.REFUND || l.kind === EntryKind.PAYOUT;
    if (!hold) {
      throw BadUserInputError.field('amount', `this would take the wallet's balance past ${MAX_WALLET_BALANCE} minor units, the most a wallet may hold`);
    }
    // Locks the row (creating it if need be) and reads its latest balance: what fits is then exact.
    const [row] = await tx.execute<{ balance: string }[]>(
      `insert into wallet (customer_id) values (?) on conflict (customer_id) do update set updated_at = now() returning balance`,
      [customerId],
    );
    const fits = Math.min(l.amount, MAX_WALLET_BALANCE - Number(row.balance));
    if (fits > 0) await tx.execute(`update wallet set balance = balance + ?, updated_at = now() where customer_id = ?`, [fits, customerId]);
    return Math.max(fits, 0);
  }

  /** A customer's wallet balance (0 when they have never had one). */
  async balance(em: EntityManager, customerId: string): Promise<number> {
    const rows = await em.execute<{ balance: string }[]>(`select balance from wallet where customer_id = ?`, [customerId]);
    return rows.length ? Number(rows[0].balance) : 0;
  }

  /** What escrow holds for an order: the sum of its ESCROW entries. */
  async escrowOf(em: EntityManager, orderId: string): Promise<number> {
    const rows = await em.execute<{ s: string }[]>(`select coalesce(sum(amount), 0) as s from ledger_entry where account = 'ESCROW' and order_id = ?`, [orderId]);
    return Number(rows[0].s);
  }
  /** Every ledger entry of an order, oldest first (journal order within one moment); empty for an unknown id. */
  async entriesOfOrder(em: EntityManager, orderId: string): Promise<LedgerEntryRow[]> {
    if (!isUuid(orderId)) return [];
    const rows = await em.execute<Array<Omit<LedgerEntryRow, 'amount' | 'createdAt'> & { amount: string; createdAt: string | Date }>>(
      `select id, journal_id as "journalId", account, customer_id as "customerId", amount, kind, actor, created_at as "createdAt"
         from ledger_entry where order_id = ? order by created_at, journal_id, id`,
      [orderId],
    );
    return rows.map((r) => ({ ...r, amount: Number(r.amount), createdAt: new Date(r.createdAt) }));
  }
}

/** One ledger line as read back for audits. */
export interface LedgerEntryRow {
  id: string;
  journalId: string;
  account: AccountKind;
  customerId: string | null;
  amount: number;
  kind: EntryKind;
  actor: string | null;
  createdAt: Date;
}
