import type { GatewayCheckoutService } from './checkout.service';
import type { DevGatewayService } from './dev-gateway.service';
import type { GatewayEventService } from './gateway-events.service';
import type { RefundService } from './refund.service';
import type { TopUpService } from './top-up.service';
import type { WalletPaymentService } from './wallet-payment.service';

/** The payment module's services, one per job: each depends only on the ones before it. */
export interface PaymentServices {
  /** Refunds (recorded in the transaction, sent to the gateway by a job); the delivery service uses it too. */
  refunds: RefundService;
  /** Paying from the wallet. */
  wallet: WalletPaymentService;
  /** Opening and expiring gateway checkouts. */
  checkout: GatewayCheckoutService;
  /** The gateway's webhook events: inbox, retries, failures. */
  events: GatewayEventService;
  /** The development gateway's pages; null when Stripe is configured. */
  dev: DevGatewayService | null;
  /** Customers' top-ups of their own wallets through the gateway. */
  topUps: TopUpService;
}
