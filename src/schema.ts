import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildSchema, getMetadataStorage, type PubSub } from 'type-graphql';
import * as audit from './modules/audit';
import * as coupon from './modules/coupon';
import * as customer from './modules/customer';
import * as delivery from './modules/delivery';
import * as order from './modules/order';
import * as payment from './modules/payment';
import * as plan from './modules/plan';
import * as wallet from './modules/wallet';
import { validateArgument } from './shared/argument-validation';
import { DateTimeScalar } from './shared/date-time';

/** Every resolver class of the API, module by module. */
export const resolvers = [
  ...customer.resolvers,
  ...plan.resolvers,
  ...coupon.resolvers,
  ...order.resolvers,
  ...delivery.resolvers,
  ...wallet.resolvers,
  ...payment.resolvers,
  ...audit.resolvers,
] as const;

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

/**
 * A field without a resolver of its own is read as a property of its source object by graphql's default
 * resolver. type-graphql would otherwise wrap each such field in a function that builds a resolver-data
 * object for every field of every row (a page of twenty orders reads some two hundred): a wrapper that
 * only serves middlewares and `@Authorized`, which no type uses. A type given either keeps the wrapper,
 * as does one declared with `simpleResolvers: false`.
 */
function plainFieldsAsProperties(): void {
  const storage = getMetadataStorage();
  const guarded = new Set<unknown>([...storage.middlewares, ...storage.authorizedFields].map((m) => m.target));
  for (const type of storage.objectTypes) if (!guarded.has(type.target)) type.simpleResolvers ??= true;
}

/** Builds the executable schema from the resolvers, validating arguments with class-validator ({@link validateArgument}). */
export async function createSchema(emitTo?: string): Promise<GraphQLSchema> {
  plainFieldsAsProperties();
  return buildSchema({
    resolvers,
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    validateFn: validateArgument,
    pubSub: unusedPubSub,
    emitSchemaFile: emitTo ? { path: emitTo, sortedSchema: false } : false,
    disableInferringDefaultValues: true,
  });
}
