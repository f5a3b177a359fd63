import { AuditEntry } from './modules/audit/audit.entity';
import { Coupon, CouponCustomerUse } from './modules/coupon/coupon.entity';
import { Customer } from './modules/customer/customer.entity';
import { Delivery, ServicePeriod } from './modules/delivery/delivery.entity';
import { Order } from './modules/order/order.entity';
import { CheckoutSession, GatewayCharge, GatewayEvent, Payment, Refund } from './modules/payment/payment.entity';
import { Plan, PlanUpgrade } from './modules/plan/plan.entity';
import { LedgerEntry, Wallet, WalletCredit } from './modules/wallet/wallet.entity';

/** Every entity, listed explicitly so discovery works the same from TypeScript sources and compiled code. */
export const entities = [
  Customer,
  Plan,
  PlanUpgrade,
  Coupon,
  CouponCustomerUse,
  Order,
  Delivery,
  ServicePeriod,
  Wallet,
  LedgerEntry,
  WalletCredit,
  Payment,
  Refund,
  CheckoutSession,
  GatewayEvent,
  GatewayCharge,
  AuditEntry,
];
