import type { EntityManager } from '@mikro-orm/postgresql';
import { Order } from '../order';
import type { GatewayEventInput, GatewayEventService } from './gateway-events.service';
import { CheckoutSession, CheckoutStatus } from './payment.entity';
import type { PaymentLog } from './payment.log';

/** What the development gateway's Pay button did. */
export type DevPayment = { orderId: string; outcome: 'paid' } | { orderId: string; outcome: 'expired' };

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
    if (!found) return null;
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
}
