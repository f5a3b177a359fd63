import type { EntityManager } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import { InsufficientBalanceError } from '../../shared/errors';
import { isUuid } from '../../shared/ids';
import { AccountKind, EntryKind } from './wallet.entity';

/** One line of a journal transaction. */
export interface LedgerLine {
  account: AccountKind;
  /** Signed minor units: positive into the account. */
  amount: number;
  kind: EntryKind;
  /** Required for WALLET lines: whose wallet. */
  customerId?: string;
  orderId?: string | null;
}

/**
 * The double-entry ledger. A journal's lines must sum to zero (checked here, and again by the
 * database at commit). Wallet lines also move the wallet's balance row with a guarded update, so a
 * balance can never go negative however many payments race; platform accounts are insert-only.
 */
export class LedgerService {
  /**
   * Posts a balanced journal inside the caller's transaction and returns its id. A wallet debit beyond
   * the balance throws INSUFFICIENT_BALANCE (the caller's transaction then rolls back whole).
   * `actor` records who caused it: a customer id or `system:<job>`. `opts.journalId` lets a caller
   * record the journal's id elsewhere (e.g. an admin credit) before posting it.
   */
  async post(tx: EntityManager, lines: LedgerLine[], actor: string, opts: { journalId?: string } = {}): Promise<string> {
    const lines_ = lines.filter((l) => l.amount !== 0);
    if (lines_.length === 0) throw new Error('empty journal');
    const sum = lines_.reduce((s, l) => s + l.amount, 0);
    if (sum !== 0 || lines_.some((l) => !Number.isSafeInteger(l.amount))) throw new Error(`unbalanced journal (sum ${sum})`);
    for (const l of lines_) {
      if ((l.account === AccountKind.WALLET) !== Boolean(l.customerId)) throw new Error('wallet lines, and only they, name a customer');
    }

    // Debits first, in a stable order, so two journals touching the same wallets lock them alike.
    const walletLines = lines_.filter((l) => l.account === AccountKind.WALLET).sort((a, b) => a.amount - b.amount || a.customerId!.localeCompare(b.customerId!));
    for (const l of walletLines) await this.moveWallet(tx, l.customerId!, l.amount);

    const journalId = opts.journalId ?? randomUUID();
    const values: unknown[] = [];
    const rows = lines_.map((l) => {
      values.push(randomUUID(), journalId, l.account, l.customerId ?? null, l.orderId ?? null, l.amount, l.kind, actor.slice(0, 80));
      return '(?, ?, ?, ?, ?, ?, ?, ?)';
    });
    await tx.execute(
      `insert into ledger_entry (id, journal_id, account, customer_id, order_id, amount, kind, actor) values ${rows.join(', ')}`,
      values,
    );
    return journalId;
  }

  /** Adds `amount` (signed) to a wallet; a debit is refused unless the balance covers it. */
  private async moveWallet(tx: EntityManager, customerId: string, amount: number): Promise<void> {
    if (amount > 0) {
      await tx.execute(
        `insert into wallet (customer_id, balance) values (?, ?)
         on conflict (customer_id) do update set balance = wallet.balance + excluded.balance, updated_at = now()`,
        [customerId, amount],
      );
      return;
    }
    const updated = await tx.execute(
      `update wallet set balance = balance + ?, updated_at = now() where customer_id = ? and balance + ? >= 0 returning balance`,
      [amount, customerId, amount],
    );
    if (updated.length === 0) throw new InsufficientBalanceError();
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
