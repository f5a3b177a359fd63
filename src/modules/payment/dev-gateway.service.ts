import type { EntityManager } from '@mikro-orm/postgresql';
import { Order } from '../order';
import type { GatewayEventInput, GatewayEventService } from './gateway-events.service';
import { CheckoutSession, CheckoutStatus } from './payment.entity';
import type { PaymentLog } from './payment.log';
import { TopUpStatus, WalletTopUp } from './top-up.entity';

/** What the development gateway's Pay button did, for an order's checkout or a wallet top-up's. */
export type DevPayment = { orderId: string; outcome: 'paid' | 'expired' } | { topUpId: string; outcome: 'paid' | 'expired' };

/**
 * The development gateway's pages (no Stripe keys, never in production): the session behind a page,
 * and the Pay button, which builds the event Stripe would send and hands it to the webhook's own path.
 * Like Stripe, it refuses to take payment of a session that has expired.
 */
export class DevGatewayService {
  constructor(private readonly events: GatewayEventService) {}

  /** The checkout session and order behind a development-gateway page, or null. */
  async checkout(em: EntityManager, sessionId: string): Promise<{ session: CheckoutSession; order: Order } | null> {
    const session = await em.findOne(CheckoutSession, { id: sessionId });
    if (!session) return null;
    const order = await em.findOne(Order, { id: session.orderId }, { populate: ['plan'] });
    return order ? { session, order } : null;
  }

  /** The wallet top-up behind a development-gateway page, or null. */
  async topUp(em: EntityManager, sessionId: string): Promise<WalletTopUp | null> {
    return em.findOne(WalletTopUp, { sessionId });
  }

  /**
   * Whether a top-up's session takes the Pay button: not expired or failed, and not past its time. A
   * session already paid sends its event again, which changes nothing (the same event id).
   */
  topUpPayable(topUp: WalletTopUp): boolean {
    if (topUp.status === TopUpStatus.EXPIRED || topUp.status === TopUpStatus.FAILED) return false;
    return !topUp.expiresAt || topUp.expiresAt.getTime() > Date.now();
  }

  /** Whether the session can still be paid: not expired (here, or by its time). */
  payable(session: CheckoutSession): boolean {
    return session.status !== CheckoutStatus.EXPIRED && (!session.expiresAt || session.expiresAt.getTime() > Date.now());
  }

  /**
   * The Pay button: builds the `checkout.session.completed` event Stripe would send for the session and
   * hands it to {@link GatewayEventService.receive}, the webhook's own path. Null for unknown sessions;
   * `expired` (nothing paid) for a session that can no longer be paid.
   */
  async pay(em: EntityManager, sessionId: string, log?: PaymentLog): Promise<DevPayment | null> {
    const found = await this.checkout(em, sessionId);
    if (!found) return this.payTopUp(em, sessionId, log);
    const { session } = found;
    if (!this.payable(session)) return { orderId: session.orderId, outcome: 'expired' };
    const event: GatewayEventInput = {
      id: `evt_dev_${session.id}`,
      type: 'checkout.session.completed',
      data: {
        object: {
          id: session.id,
          object: 'checkout.session',
          amount_total: session.amount,
          currency: session.currency.toLowerCase(),
          payment_status: 'paid',
          status: 'complete',
          payment_intent: `pi_dev_${session.id.replace(/^cs_dev_/, '')}`,
          client_reference_id: session.orderId,
          metadata: { orderId: session.orderId },
        },
      },
    };
    await this.events.receive(em.fork(), event, { log });
    return { orderId: session.orderId, outcome: 'paid' };
  }

  /** The Pay button of a top-up's page: the event Stripe would send, through the webhook's own path. */
  private async payTopUp(em: EntityManager, sessionId: string, log?: PaymentLog): Promise<DevPayment | null> {
    const topUp = await this.topUp(em, sessionId);
    if (!topUp) return null;
    if (!this.topUpPayable(topUp)) return { topUpId: topUp.id, outcome: 'expired' };
    const event: GatewayEventInput = {
      id: `evt_dev_${topUp.sessionId}`,
      type: 'checkout.session.completed',
      data: {
        object: {
          id: topUp.sessionId,
          object: 'checkout.session',
          amount_total: topUp.amount,
          currency: topUp.currency.toLowerCase(),
          payment_status: 'paid',
          status: 'complete',
          payment_intent: `pi_dev_${topUp.sessionId.replace(/^cs_dev_/, '')}`,
          client_reference_id: topUp.id,
          metadata: { topUpId: topUp.id, customerId: topUp.customer.id },
        },
      },
    };
    await this.events.receive(em.fork(), event, { log });
    return { topUpId: topUp.id, outcome: 'paid' };
  }
}
