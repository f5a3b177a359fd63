import type { ApolloServerPlugin, GraphQLRequestContext } from '@apollo/server';
import responseCachePlugin from '@apollo/server-plugin-response-cache';
import { Kind, type OperationDefinitionNode } from 'graphql';
import type { Context } from '../context';

/** Root fields whose answers are catalogue data alone, the same for everyone in a customer group. */
const CATALOGUE_ROOT_FIELDS = new Set(['plans', '__typename']);

/** Whether the operation asks for catalogue listings and nothing else. */
export function isCatalogueQuery(operation: OperationDefinitionNode | undefined): boolean {
  return (
    operation?.operation === 'query' &&
    operation.selectionSet.selections.every((s) => s.kind === Kind.FIELD && CATALOGUE_ROOT_FIELDS.has(s.name.value))
  );
}

type Request = GraphQLRequestContext<Context>;

/**
 * Apollo's response cache, for catalogue listings only: a `plans` answer is kept per query text,
 * variables, customer group and catalogue version, so browsing costs neither SQL nor execution, and a
 * change of a plan, its stock or a customer's group is seen by the next request (the version moves on
 * after the commit, before the mutation answers). Anything else is never read from nor written to it.
 */
export function catalogueResponseCache(): ApolloServerPlugin<Context> {
  const keyOf = new WeakMap<object, { group: string; version: number } | null>();
  const key = async (rc: Request) => {
    if (!keyOf.has(rc.request)) {
      const ctx = rc.contextValue;
      keyOf.set(rc.request, isCatalogueQuery(rc.operation) ? await ctx.services.plans.listingKey(ctx.principal, () => ctx.viewer()) : null);
    }
    return keyOf.get(rc.request) ?? null;
  };
  return responseCachePlugin<Context>({
    extraCacheKeyData: key,
    shouldReadFromCache: async (rc) => (await key(rc)) !== null,
    shouldWriteToCache: async (rc) => (await key(rc)) !== null,
  });
}
