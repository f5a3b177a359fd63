import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { buildSchema, type PubSub } from 'type-graphql';
import { AuditResolver } from './modules/audit/audit.resolver';
import { CouponResolver } from './modules/coupon/coupon.resolver';
import { CustomerResolver } from './modules/customer/customer.resolver';
import { DeliveryResolver } from './modules/delivery/delivery.resolver';
import { CustomerServicesResolver, ServicePeriodResolver } from './modules/delivery/service-period.resolver';
import { OrderAdminResolver } from './modules/order/order-admin.resolver';
import { OrderFieldsResolver } from './modules/order/order-fields.resolver';
import { OrderSubscriptionResolver } from './modules/order/order-subscription.resolver';
import { OrderResolver } from './modules/order/order.resolver';
import { PlanResolver, PlanUpgradeResolver } from './modules/plan/plan.resolver';
import { PaymentResolver } from './modules/payment/payment.resolver';
import { WalletResolver } from './modules/wallet/wallet.resolver';
import { LedgerResolver } from './modules/wallet/ledger.resolver';

/** Every resolver class of the API. */
export const resolvers = [CustomerResolver, PlanResolver, PlanUpgradeResolver, OrderFieldsResolver, CouponResolver, OrderResolver, OrderAdminResolver, DeliveryResolver, OrderSubscriptionResolver, CustomerServicesResolver, ServicePeriodResolver, WalletResolver, PaymentResolver, LedgerResolver, AuditResolver] as const;

/** type-graphql's pub/sub is not used for delivery (subscriptions use the EventBus); a stub satisfies it. */
const unusedPubSub: PubSub = {
  publish: () => undefined,
  subscribe: () => ({
    [Symbol.asyncIterator]() {
      return this;
    },
    next: () => Promise.resolve({ done: true, value: undefined }),
  }) as never,
};

/** Builds the executable schema from the resolvers, validating arguments with class-validator. */
export async function createSchema(emitTo?: string): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers,
    scalarsMap: [{ type: Date, scalar: DateTimeResolver }],
    validate: { forbidUnknownValues: false, stopAtFirstError: true },
    pubSub: unusedPubSub,
    emitSchemaFile: emitTo ? { path: emitTo, sortedSchema: false } : false,
    disableInferringDefaultValues: true,
  });
}
