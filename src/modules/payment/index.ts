/** Payments: from the wallet or through the gateway (checkouts, webhook events), and refunds. */
import { OrderPaymentRecordsResolver } from './payment-record.resolver';
import { CheckoutSession, GatewayCharge, GatewayEvent, Payment, Refund } from './payment.entity';
import { PaymentResolver } from './payment.resolver';
import { Receipt } from './receipt';
import { WalletTopUp } from './top-up.entity';
import { TopUpResolver } from './top-up.resolver';

export { GatewayCheckoutService } from './checkout.service';
export { DevGatewayService } from './dev-gateway.service';
export { DevGateway, StripeGateway, type PaymentGateway } from './gateway';
export { GatewayEventService } from './gateway-events.service';
export { PaymentConfirmation } from './payment-confirmation';
export { CheckoutSession, GatewayCharge, GatewayEvent, Payment, Refund } from './payment.entity';
export { registerPaymentRoutes, type PaymentRouteDeps } from './payment.routes';
export type { PaymentServices } from './payment.services';
export { paymentTasks } from './payment.tasks';
export { RefundService } from './refund.service';
export { TopUpStatus, WalletTopUp } from './top-up.entity';
export { TopUpService } from './top-up.service';
export { WalletPaymentService } from './wallet-payment.service';
export { OrderPaymentRecordsResolver, PaymentResolver, TopUpResolver };
export { Receipt };

/** The module's entities, for the ORM. */
export const entities = [Payment, Refund, CheckoutSession, GatewayEvent, GatewayCharge, Receipt, WalletTopUp];
/** The module's resolvers, for the schema. */
export const resolvers = [PaymentResolver, OrderPaymentRecordsResolver, TopUpResolver] as const;
