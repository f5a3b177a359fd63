import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../../config';
import { BadUserInputError } from '../../shared/errors';
import { isUuid, newId } from '../../shared/ids';
import { AuditTargetType, type AuditService } from '../audit';
import { AccountKind, EntryKind, MAX_CREDIT, MAX_WALLET_BALANCE, type LedgerService } from '../wallet';
import { checkoutExpiry, type PaymentGateway } from './gateway';
import { ChargeOutcome } from './payment.entity';
import { silentLog, type PaymentLog } from './payment.log';
import type { RefundService } from './refund.service';
import { TopUpStatus } from './top-up.entity';

/** Who the audit log names for what the gateway's events do. */
export const GATEWAY_ACTOR = 'system:gateway';

/** A top-up checkout as `topUpWallet` answers it. */
export interface OpenedTopUp {
  checkoutUrl: string;
  amount: number;
  currency: string;
}

/** The fields of a paid Checkout Session that settle a top-up. */
export interface PaidTopUpSession {
  sessionId: string;
  topUpId: string;
  paymentIntent: string | null;
  /** Minor units, as the gateway reports them. */
  amount: number;
  /** Upper case. */
  currency: string;
}

interface TopUpRow {
  id: string;
  customer_id: string;
  amount: string;
  currency: string;
  session_id: string;
  status: TopUpStatus;
}

/**
 * Wallet top-ups: a customer pays money into their own wallet through the gateway. `topUpWallet` opens a
 * Checkout Session (the gateway is called outside any transaction, then the top-up row stored); the
 * wallet is credited when the gateway reports the session paid, once, through the ledger from the
 * gateway's clearing account. A payment that cannot be a credit (another amount or currency, a wallet
 * that would pass its maximum, a session no longer open here) is refunded through the gateway like a
 * late order payment, and recorded in the audit log.
 */
export class TopUpService {
  constructor(
    private readonly deps: {
      config: Config;
      gateway: PaymentGateway;
      ledger: LedgerService;
      refunds: RefundService;
      audits: AuditService;
    },
  ) {}

  /**
   * Opens a Checkout Session adding `amount` (1 to the most `creditWallet` takes) to `customerId`'s own
   * wallet, and returns where to pay it. BAD_USER_INPUT for another amount, or one the wallet could not
   * take now (it would pass {@link MAX_WALLET_BALANCE}; checked again when the money arrives);
   * PAYMENT_GATEWAY_UNAVAILABLE or BAD_USER_INPUT from the gateway, with nothing stored.
   */
  async open(em: EntityManager, customerId: string, amount: number): Promise<OpenedTopUp> {
    if (!Number.isInteger(amount) || amount < 1 || amount > MAX_CREDIT) throw BadUserInputError.field('amount', `must be 1 to ${MAX_CREDIT} minor units`);
    const balance = await this.deps.ledger.balance(em, customerId);
    if (balance + amount > MAX_WALLET_BALANCE) {
      throw BadUserInputError.field('amount', `this would take the wallet's balance past ${MAX_WALLET_BALANCE} minor units, the most a wallet may hold`);
    }
    const { currency, publicUrl } = this.deps.config;
    const id = newId();
    const expiresAt = checkoutExpiry(new Date(), null);
    const opened = await this.deps.gateway.createCheckout(
      {
        kind: 'topUp',
        topUpId: id,
        customerId,
        description: 'Wallet top-up',
        amount,
        currency,
        successUrl: `${publicUrl}/checkout/success?topUp=${id}`,
        cancelUrl: `${publicUrl}/checkout/cancel?topUp=${id}`,
        expiresAt,
      },
      `topup:${id}`,
    );
    await em.transactional((tx) =>
      tx.execute(
        `insert into wallet_top_up (id, customer_id, amount, currency, session_id, checkout_url, status, expires_at) values (?, ?, ?, ?, ?, ?, ?, ?)`,
        [id, customerId, amount, currency, opened.id, opened.url, TopUpStatus.OPEN, expiresAt],
      ),
    );
    return { checkoutUrl: opened.url, amount, currency };
  }

  /**
   * Settles one paid top-up session inside the event's transaction, once: the charge is claimed in
   * `gateway_charge` (keyed by session id; a repeated event stops there) and the top-up row locked. The
   * wallet is credited (TOP_UP, from GATEWAY_CLEARING) when the amount and currency are the top-up's, the
   * top-up is still OPEN and the wallet can take it; otherwise the charge is refunded through the
   * gateway (after commit, by the refund job) and the reason recorded in the audit log. A session that
   * names no top-up of ours is left alone (logged), like one that names no order.
   */
  async settle(tx: EntityManager, s: PaidTopUpSession, actor: string, log: PaymentLog = silentLog): Promise<void> {
    const [topUp] = isUuid(s.topUpId)
      ? await tx.execute<TopUpRow[]>(`select id, customer_id, amount, currency, session_id, status from wallet_top_up where id = ? for update`, [s.topUpId])
      : [];
    if (!topUp || topUp.session_id !== s.sessionId) {
      log.warn({ sessionId: s.sessionId, topUpId: s.topUpId }, 'gateway payment names no top-up of ours: ignored');
      return;
    }
    const claimed = await tx.execute<{ session_id: string }[]>(
      `insert into gateway_charge (session_id, order_id, payment_intent, amount, currency, outcome) values (?, null, ?, ?, ?, ?)
       on conflict (session_id) do nothing returning session_id`,
      [s.sessionId, s.paymentIntent, s.amount, s.currency.slice(0, 3), ChargeOutcome.APPLIED],
    );
    if (claimed.length === 0) {
      log.info({ sessionId: s.sessionId, topUpId: topUp.id }, 'top-up charge already settled');
      return;
    }
    const customerId = topUp.customer_id;
    const expected = { amount: Number(topUp.amount), currency: topUp.currency };
    const charge = { sessionId: s.sessionId, orderId: null, paymentIntent: s.paymentIntent, amount: s.amount, currency: s.currency };
    const audit = (action: string, details: Record<string, unknown>) =>
      this.deps.audits.record(tx, { actor: GATEWAY_ACTOR, action, targetType: AuditTargetType.WALLET, targetId: customerId, details: { topUpId: topUp.id, sessionId: s.sessionId, ...details } });
    const refund = async (outcome: ChargeOutcome, action: string, details: Record<string, unknown>) => {
      log.warn({ ...charge, topUpId: topUp.id, action }, 'top-up payment is not a credit: refunding it');
      await tx.execute(`update wallet_top_up set status = ?, settled_at = coalesce(settled_at, now()) where id = ? and status <> ?`, [
        TopUpStatus.REFUNDED,
        topUp.id,
        TopUpStatus.CREDITED,
      ]);
      await this.deps.refunds.refundCharge(tx, charge, outcome, actor);
      await audit(action, { paid: { amount: s.amount, currency: s.currency }, ...details });
    };

    if (s.amount !== expected.amount || s.currency !== expected.currency) return refund(ChargeOutcome.MISMATCH, 'topUpMismatch', { expected });
    if (topUp.status !== TopUpStatus.OPEN) return refund(ChargeOutcome.REFUNDED, 'topUpLatePayment', { status: topUp.status });
    // Locks the wallet row (made if need be) and reads its balance: the credit below then surely fits.
    const [wallet] = await tx.execute<{ balance: string }[]>(
      `insert into wallet (customer_id) values (?) on conflict (customer_id) do update set updated_at = now() returning balance`,
      [customerId],
    );
    if (Number(wallet.balance) + s.amount > MAX_WALLET_BALANCE) {
      return refund(ChargeOutcome.REFUNDED, 'topUpRefused', { reason: 'WALLET_FULL', balance: Number(wallet.balance), max: MAX_WALLET_BALANCE });
    }
    const journalId = await this.deps.ledger.post(
      tx,
      [
        { account: AccountKind.GATEWAY_CLEARING, amount: -s.amount, kind: EntryKind.TOP_UP },
        { account: AccountKind.WALLET, amount: s.amount, kind: EntryKind.TOP_UP, customerId, whenFull: 'refuse' },
      ],
      actor,
    );
    await tx.execute(`update wallet_top_up set status = ?, journal_id = ?, settled_at = now() where id = ?`, [TopUpStatus.CREDITED, journalId, topUp.id]);
    await audit('topUpCredited', { amount: s.amount, journalId });
  }

  /**
   * A top-up session the gateway reports expired (or whose delayed payment failed): the top-up is
   * closed and the event recorded in the audit log, so an admin can tell a customer what happened.
   * Nothing for sessions of no top-up, or top-ups already settled.
   */
  async close(tx: EntityManager, sessionId: string, status: TopUpStatus.EXPIRED | TopUpStatus.FAILED, action: string, details: Record<string, unknown> = {}): Promise<boolean> {
    const rows = await tx.execute<{ id: string; customer_id: string; amount: string }[]>(
      `update wallet_top_up set status = ?, settled_at = now() where session_id = ? and status = ? returning id, customer_id, amount`,
      [status, sessionId, TopUpStatus.OPEN],
    );
    if (!rows.length) return false;
    await this.deps.audits.record(tx, {
      actor: GATEWAY_ACTOR,
      action,
      targetType: AuditTargetType.WALLET,
      targetId: rows[0].customer_id,
      details: { topUpId: rows[0].id, sessionId, amount: Number(rows[0].amount), ...details },
    });
    return true;
  }
}
