import type { Config } from './config';
import type { TaskList } from './infra/jobs';
import { Mailer } from './infra/mail';
import type { Orm } from './infra/orm';
import type { EventBus } from './infra/pubsub';
import { RateLimiter } from './infra/rate-limit';
import { createStripe, type Stripe } from './infra/stripe';
import { AuditService } from './modules/audit';
import { CouponService } from './modules/coupon';
import { CustomerService } from './modules/customer';
import { deliveryJobAttempts, deliveryTasks, DeliveryService, WebhookProvisioner } from './modules/delivery';
import { OrderEvents, OrderLiveService, OrderService, type OrderTopics } from './modules/order';
import {
  DevGateway,
  DevGatewayService,
  GatewayCheckoutService,
  GatewayEventService,
  PaymentConfirmation,
  paymentTasks,
  RefundService,
  StripeGateway,
  TopUpService,
  WalletPaymentService,
  type PaymentGateway,
  type PaymentServices,
} from './modules/payment';
import { PlanService, type CatalogueTopics } from './modules/plan';
import { LedgerService, WalletService } from './modules/wallet';

export type { PaymentServices };

/** What the event bus carries: the order module's topics and the catalogue's. */
export type AppTopics = OrderTopics & CatalogueTopics;

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
  bus: EventBus<AppTopics>;
  /** Needed by the background jobs (each forks its own EntityManager); without it none are registered. */
  orm?: Orm;
  log?: (message: string, fields: Record<string, unknown>) => void;
}): Services {
  const ledger = new LedgerService();
  const audits = new AuditService();
  const orderEvents = new OrderEvents(deps.bus);
  const stripe = createStripe(deps.config.stripe);
  const gateway: PaymentGateway = stripe ? new StripeGateway(stripe) : new DevGateway(deps.config.publicUrl);
  // eslint-disable-next-line no-console -- wired without a logger (by hand, outside main and the worker), mail notes still show
  const mailer = new Mailer(deps.config.smtpUrl, deps.log ?? ((m, f) => console.log(m, f)));
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
  const refunds = new RefundService({ config: deps.config, ledger, orderEvents, gateway, heldOrders: orders, audits });
  const deliveries = new DeliveryService({
    config: deps.config,
    ledger,
    orderEvents,
    provisioner: deps.config.deliveryWebhookUrl ? new WebhookProvisioner(deps.config.deliveryWebhookUrl) : null,
    refunds,
    audits,
  });
  const live = new OrderLiveService(deps.bus, deliveries);
  const confirmation = new PaymentConfirmation({ orderEvents, deliveryJobAttempts: deliveryJobAttempts(deps.config.deliveryMaxAttempts) });
  const topUps = new TopUpService({ config: deps.config, gateway, ledger, refunds, audits });
  const events = new GatewayEventService({ confirmation, refunds, topUps, audits });
  const payments: PaymentServices = {
    refunds,
    wallet: new WalletPaymentService(confirmation),
    checkout,
    events,
    dev: gateway.isDevelopment ? new DevGatewayService(events) : null,
    topUps,
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
