import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { FastifyInstance } from 'fastify';
import { Kind, OperationTypeNode, type OperationDefinitionNode } from 'graphql';
import { LRUCache } from 'lru-cache';
import { createHash } from 'node:crypto';
import type { Context } from '../context';
import type { Principal } from '../infra/auth';
import type { PlanService } from '../modules/plan';
import { jsonBodyOf } from './input';

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

/** What a catalogue answer depends on besides the operation: see `PlanService.listingKey`. */
interface ListingKey {
  group: string;
  admin: boolean;
  version: number;
}

/** An answer as Apollo wrote it to the client, and the operation that produced it (for the request log). */
interface WrittenAnswer {
  body: string;
  operationName: string | undefined;
}

/**
 * The answers of catalogue-only queries kept in memory: their data by {@link answerKey} (any variables),
 * and, for POSTs without variables or extensions (how browsing clients send `plans`), the body Apollo
 * wrote, by {@link writtenKey}, so {@link serveCatalogueAnswers} can send it again before Apollo runs.
 * Both are bounded in number and by the catalogue copy's age; the listing's version is in every key.
 */
export class CatalogueAnswers {
  readonly data: LRUCache<string, { data: Record<string, unknown> }>;
  readonly written: LRUCache<string, WrittenAnswer>;

  constructor(maxAgeMs: number) {
    this.data = new LRUCache({ max: MAX_ANSWERS, ttl: maxAgeMs });
    this.written = new LRUCache({ max: MAX_ANSWERS, ttl: maxAgeMs });
  }
}

/** The key of a written answer: the listing, and the query text and operation name as the client sent them. */
function writtenKey(listing: ListingKey, query: string, operationName: string | null): string {
  return createHash('sha256').update(JSON.stringify([listing.version, listing.group, listing.admin, operationName, query])).digest('base64url');
}

/** Whether a request's variables are none at all (absent, null or `{}`). */
const noVariables = (v: unknown): boolean => v == null || (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0);

/**
 * Keeps the answers of catalogue-only queries (`plans`) in memory, per query, variables, customer group
 * (and admin or not: admins see plans' groups) and catalogue version, so browsing costs neither SQL nor execution. The version moves on after the
 * commit of any plan, stock or group change, on every instance (the bus), before the mutation answers:
 * the next listing is executed afresh. Answers with errors are never kept; other operations never touch it.
 *
 * Apollo's response-cache plugin serializes every answer for an external store and parses it back on
 * every hit; this cache is in-process and bounded by the catalogue's version, so it keeps the answer's
 * data as it is, and the body written for a POST without variables for {@link serveCatalogueAnswers}.
 */
export function catalogueResponseCache(answers: CatalogueAnswers): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      let key: string | null = null;
      let written: string | null = null;
      return {
        async responseForOperation({ operation, contextValue: ctx, queryHash, operationName, request }) {
          if (!isCatalogueQuery(operation)) return null;
          const listing = await ctx.services.plans.listingKey(ctx.principal, () => ctx.viewer(), () => ctx.fork());
          if (!listing) return null;
          if (request.http?.method === 'POST' && typeof request.query === 'string' && noVariables(request.variables) && request.extensions === undefined) {
            written = writtenKey(listing, request.query, request.operationName ?? null);
          }
          key = answerKey([listing.version, listing.group, listing.admin, queryHash, operationName ?? null], operation, request.variables);
          if (key === null) return null;
          const hit = answers.data.get(key);
          if (!hit) return null;
          key = null; // answered from the cache: nothing to keep
          return { body: { kind: 'single', singleResult: { data: hit.data } }, http: { status: undefined, headers: new HeaderMap() } };
        },
        async willSendResponse({ response, operationName }) {
          if (response.body.kind !== 'single') return;
          const { data, errors, extensions } = response.body.singleResult;
          if (errors || extensions || !data) return;
          if (key !== null) answers.data.set(key, { data });
          // What Apollo writes for a single result without errors or extensions.
          if (written !== null) answers.written.set(written, { body: `${JSON.stringify({ data })}\n`, operationName: operationName ?? undefined });
        },
      };
    },
  };
}

/**
 * Sends kept catalogue answers before Apollo runs: a POST to `path` with a JSON body of a query, maybe an
 * operation name, no variables and no extensions, whose answer for the caller's listing (their token
 * verified, their group remembered) was written before, gets that same body, status and content type.
 * Anything else, a token that does not verify included, goes on to Apollo, which answers as always.
 * The answer was produced by the whole pipeline for the same text and listing, so it passed every limit
 * (depth, aliases, complexity, text the database cannot store) that this request would meet; queries are not rate-limited.
 */
export function serveCatalogueAnswers(
  http: FastifyInstance,
  deps: {
    answers: CatalogueAnswers;
    /** The caller of an Authorization header as Apollo's context finds it; undefined when it is refused. */
    principalOf(header: string | undefined): Promise<Principal | null | undefined>;
    plans: Pick<PlanService, 'knownListingKey'>;
    fork: () => EntityManager;
    path: string;
  },
): void {
  http.addHook('preHandler', async (req, reply) => {
    const body = jsonBodyOf(req, deps.path);
    if (!body || typeof body.query !== 'string') return;
    const operationName = body.operationName ?? null;
    if ((operationName !== null && typeof operationName !== 'string') || !noVariables(body.variables) || body.extensions !== undefined) return;
    const principal = await deps.principalOf(req.headers.authorization);
    if (principal === undefined) return;
    const listing = deps.plans.knownListingKey(principal, deps.fork);
    if (!listing) return;
    const hit = deps.answers.written.get(writtenKey(listing, body.query, operationName));
    if (!hit) return;
    req.operationName = hit.operationName;
    if (principal) req.callerId = principal.sub;
    return reply.header('content-type', 'application/json; charset=utf-8').send(hit.body);
  });
}
