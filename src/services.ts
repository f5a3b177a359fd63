import type { Config } from './config';
import type { TaskList } from './infra/jobs';
import { Mailer } from './infra/mail';
import type { Orm } from './infra/orm';
import type { EventBus } from './infra/pubsub';
import { RateLimiter } from './infra/rate-limit';
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

/** The domain services, built once per process and shared by requests, jobs and webhooks. */
export interface Services {
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
  const orderEvents = new OrderEvents(deps.bus);
  const deliveries = new DeliveryService({
    config: deps.config,
    ledger,
    orderEvents,
    provisioner: deps.config.deliveryWebhookUrl ? new WebhookProvisioner(deps.config.deliveryWebhookUrl) : null,
  });
  const mailer = new Mailer(deps.config.smtpUrl, deps.log ?? ((m, f) => console.log(m, f)));
  const live = new OrderLiveService(deps.bus, deliveries);
  const plans = new PlanService();
  const couponPreviewLimiter = new RateLimiter({
    keyPrefix: 'rl:coupon_preview',
    points: deps.config.couponPreviewRateLimit,
    windowSeconds: deps.config.rateLimitWindowSeconds,
    redisUrl: deps.config.redisUrl,
  });
  const coupons = new CouponService({ config: deps.config, plans, previewLimiter: couponPreviewLimiter });
  const orders = new OrderService({ config: deps.config, plans, coupons, events: orderEvents });
  return {
    customers: new CustomerService(),
    plans,
    ledger,
    orderEvents,
    deliveries,
    live,
    mailer,
    coupons,
    orders,
    tasks: {
      ...(deps.orm ? deliveryTasks({ orm: deps.orm, config: deps.config, deliveries, mailer }) : {}),
      ...(deps.orm ? orders.tasks(() => deps.orm!.em.fork()) : {}),
    },
  };
}
