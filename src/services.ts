import type { Config } from './config';
import type { TaskList } from './infra/jobs';
import { Mailer } from './infra/mail';
import type { Orm } from './infra/orm';
import type { EventBus } from './infra/pubsub';
import { RateLimiter } from './infra/rate-limit';
import { AuditService } from './modules/audit/audit.service';
import { CouponService } from './modules/coupon/coupon.service';
import { CustomerService } from './modules/customer/customer.service';
import { DeliveryService } from './modules/delivery/delivery.service';
import { deliveryTasks } from './modules/delivery/delivery.tasks';
import { WebhookProvisioner } from './modules/delivery/provisioner';
import { OrderLiveService } from './modules/order/order-live.service';
import { OrderEvents } from './modules/order/order.events';
import { OrderService } from './modules/order/order.service';
import { PlanService } from './modules/plan/plan.service';
import { LedgerService } from './modules/wallet/ledger.service';
import { WalletService } from './modules/wallet/wallet.service';
import { GatewayCheckoutService } from './modules/payment/checkout.service';
import { DevGatewayService } from './modules/payment/dev-gateway.service';
import { DevGateway, StripeGateway, type PaymentGateway } from './modules/payment/gateway';
import { GatewayEventService } from './modules/payment/gateway-events.service';
import { PaymentConfirmation } from './modules/payment/payment-confirmation';
import { paymentTasks } from './modules/payment/payment.tasks';
import { RefundService } from './modules/payment/refund.service';
import { WalletPaymentService } from './modules/payment/wallet-payment.service';
import { createStripe, type Stripe } from './infra/stripe';

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
}

/** The domain services, built once per process and shared by requests, jobs and webhooks. */
export interface Services {
  /** The audit log; the services that change money, the catalogue or orders record into it. */
  audits: AuditService;
  customers: CustomerService;
  plans: PlanService;
  ledger: LedgerService;
  orderEvents: OrderEvents;
  deliveries: DeliveryService;
  /** Live order feeds for subscriptions. */
  live: OrderLiveService;
  mailer: Mailer;
  coupons: CouponService;
  orders: OrderService;
  wallets: WalletService;
  payments: PaymentServices;
  /** The Stripe client; null when the development gateway stands in (no keys, outside production). */
  stripe: Stripe | null;
  /** Background job handlers, by task name. */
  tasks: TaskList;
}

/** Wires the services with their dependencies. */
export function createServices(deps: {
  config: Config;
  bus: EventBus;
  /** Needed by the background jobs (each forks its own EntityManager); without it none are registered. */
  orm?: Orm;
  log?: (message: string, fields: Record<string, unknown>) => void;
}): Services {
  const ledger = new LedgerService();
  const audits = new AuditService();
  const orderEvents = new OrderEvents(deps.bus);
  const stripe = createStripe(deps.config.stripe);
  const gateway: PaymentGateway = stripe ? new StripeGateway(stripe) : new DevGateway(deps.config.publicUrl);
  const refunds = new RefundService({ config: deps.config, ledger, orderEvents, gateway });
  const deliveries = new DeliveryService({
    config: deps.config,
    ledger,
    orderEvents,
    provisioner: deps.config.deliveryWebhookUrl ? new WebhookProvisioner(deps.config.deliveryWebhookUrl) : null,
    refunds,
    audits,
  });
  const mailer = new Mailer(deps.config.smtpUrl, deps.log ?? ((m, f) => console.log(m, f)));
  const live = new OrderLiveService(deps.bus, deliveries);
  const plans = new PlanService(deps.bus, audits, deps.config.catalogueMaxAgeSeconds * 1000);
  const couponPreviewLimiter = new RateLimiter({
    keyPrefix: 'rl:coupon_preview',
    points: deps.config.couponPreviewRateLimit,
    windowSeconds: deps.config.rateLimitWindowSeconds,
    redisUrl: deps.config.redisUrl,
  });
  const coupons = new CouponService({ config: deps.config, plans, previewLimiter: couponPreviewLimiter, audits });
  const checkout = new GatewayCheckoutService({ config: deps.config, gateway });
  const orders = new OrderService({ config: deps.config, plans, coupons, events: orderEvents, audits, checkouts: checkout });
  const confirmation = new PaymentConfirmation({ ledger, deliveries, orderEvents, unpaidSlots: orders });
  const events = new GatewayEventService({ confirmation, refunds });
  const payments: PaymentServices = {
    refunds,
    wallet: new WalletPaymentService(confirmation),
    checkout,
    events,
    dev: gateway.isDevelopment ? new DevGatewayService(events) : null,
  };
  return {
    audits,
    customers: new CustomerService(plans, audits),
    plans,
    ledger,
    orderEvents,
    deliveries,
    live,
    mailer,
    coupons,
    orders,
    wallets: new WalletService(ledger, deps.config.currency, audits),
    payments,
    stripe,
    tasks: {
      ...(deps.orm ? deliveryTasks({ orm: deps.orm, config: deps.config, deliveries, mailer }) : {}),
      ...(deps.orm ? orders.tasks(() => deps.orm!.em.fork()) : {}),
      ...(deps.orm ? paymentTasks({ em: () => deps.orm!.em.fork(), checkout: payments.checkout, events, refunds }) : {}),
    },
  };
}
