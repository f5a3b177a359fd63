import type { EntityManager } from '@mikro-orm/postgresql';
import { NotFoundError, OrderNotPayableError } from '../../shared/errors';
import { isUuid } from '../../shared/ids';
import { AfterCommit } from '../../shared/unit-of-work';
import { ownOrRefuse, PaymentMethod, type OrderSnapshot } from '../order';
import type { PaymentConfirmation } from './payment-confirmation';

/** Paying an order from its customer's wallet. */
export class WalletPaymentService {
  constructor(private readonly confirmation: PaymentConfirmation) {}

  /**
   * Pays a PENDING order of `customerId` from their wallet, as one unit of work: the order becomes PAID,
   * the wallet is debited into escrow (INSUFFICIENT_BALANCE rolls back everything), the delivery is
   * created, and the change is published after commit. NOT_FOUND for unknown ids, FORBIDDEN for another
   * customer's order; ORDER_NOT_PAYABLE unless PENDING and not past its `expiresAt` (also for the loser of any
   * payment or cancel race).
   */
  async payWithWallet(em: EntityManager, customerId: string, orderId: string): Promise<OrderSnapshot> {
    if (!isUuid(orderId)) throw new NotFoundError('No such order');
    // The confirmation is one statement (one call of a database function), which PostgreSQL runs as one
    // transaction of its own: all of it or none, without the two extra round trips of BEGIN and COMMIT.
    // The guarded update checks ownership too (a wallet pays its own customer's orders only), so the
    // happy path costs no extra read; a refusal reads the owner to tell NOT_FOUND and FORBIDDEN from not payable.
    const after = new AfterCommit();
    const paid = await this.confirmation.confirm(em, orderId, { method: PaymentMethod.WALLET, payerId: customerId, actor: customerId }, after);
    if (paid) {
      await after.run(() => undefined);
      return paid;
    }
    const [row] = await em.execute<{ customer_id: string; status: string; expired: boolean }[]>(
      `select customer_id, status, coalesce(expires_at <= now(), false) as expired from "order" where id = ?`,
      [orderId],
    );
    const order = ownOrRefuse(row, (r) => r.customer_id, customerId);
    if (order.status === 'PENDING' && order.expired) throw new OrderNotPayableError('This order has expired unpaid; create a new order');
    throw new OrderNotPayableError();
  }
}
