import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { Kind, OperationTypeNode, type OperationDefinitionNode } from 'graphql';
import { LRUCache } from 'lru-cache';
import { createHash } from 'node:crypto';
import type { Context } from '../context';

/** Root fields whose answers are catalogue data alone, the same for everyone in a customer group. */
const CATALOGUE_ROOT_FIELDS = new Set(['plans', '__typename']);

/** Distinct answers kept: (query, variables) pairs per group and catalogue version. */
const MAX_ANSWERS = 2_000;

/** Whether the operation asks for catalogue listings and nothing else. */
export function isCatalogueQuery(operation: OperationDefinitionNode | undefined): operation is OperationDefinitionNode {
  return (
    operation?.operation === OperationTypeNode.QUERY &&
    operation.selectionSet.selections.every((s) => s.kind === Kind.FIELD && CATALOGUE_ROOT_FIELDS.has(s.name.value))
  );
}

/**
 * The cache key of an answer: the listing and query, and the values of the variables the operation
 * declares, hashed. Variables it does not declare cannot change the answer, and a key of fixed size
 * keeps a client that sends large or deeply nested variables from filling memory with keys (or
 * overflowing the stack while one is built). Null when the variables cannot be written as JSON.
 */
export function answerKey(parts: unknown[], operation: OperationDefinitionNode, variables: Record<string, unknown> | undefined): string | null {
  const declared = (operation.variableDefinitions ?? []).map((d) => {
    const name = d.variable.name.value;
    return [name, variables?.[name] ?? null];
  });
  try {
    return createHash('sha256').update(JSON.stringify([...parts, declared])).digest('base64url');
  } catch {
    return null;
  }
}

/**
 * Keeps the answers of catalogue-only queries (`plans`) in memory, per query, variables, customer group
 * (and admin or not: admins see plans' groups) and catalogue version, so browsing costs neither SQL nor execution. The version moves on after the
 * commit of any plan, stock or group change, on every instance (the bus), before the mutation answers:
 * the next listing is executed afresh. Answers with errors are never kept; other operations never touch it.
 *
 * Apollo's response-cache plugin serializes every answer for an external store and parses it back on
 * every hit; this cache is in-process and bounded by the catalogue's version, so it keeps the answer's
 * data as it is.
 */
export function catalogueResponseCache(maxAgeMs: number): ApolloServerPlugin<Context> {
  const answers = new LRUCache<string, { data: Record<string, unknown> }>({ max: MAX_ANSWERS, ttl: maxAgeMs });
  return {
    async requestDidStart() {
      let key: string | null = null;
      return {
        async responseForOperation({ operation, contextValue: ctx, queryHash, operationName, request }) {
          if (!isCatalogueQuery(operation)) return null;
          const listing = await ctx.services.plans.listingKey(ctx.principal, () => ctx.viewer(), () => ctx.fork());
          if (!listing) return null;
          key = answerKey([listing.version, listing.group, listing.admin, queryHash, operationName ?? null], operation, request.variables);
          if (key === null) return null;
          const hit = answers.get(key);
          if (!hit) return null;
          key = null; // answered from the cache: nothing to keep
          return { body: { kind: 'single', singleResult: { data: hit.data } }, http: { status: undefined, headers: new HeaderMap() } };
        },
        async willSendResponse({ response }) {
          if (key === null || response.body.kind !== 'single') return;
          const { data, errors } = response.body.singleResult;
          if (!errors && data) answers.set(key, { data });
        },
      };
    },
  };
}
