import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  NoSchemaIntrospectionCustomRule,
  OperationTypeNode,
  getOperationAST,
  getVariableValues,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import type { Context } from '../context';
import type { Principal } from '../infra/auth';
import { RateLimitedError } from '../shared/errors';
import { isCatalogueQuery } from './catalogue-responses';
import type { OperationRun } from './compiled-execution';
import { formatError, isExpected } from './errors';
import { jsonBodyOf } from './input';
import { callerKey, type DocumentCache, type MutationLimiter } from './limits';

/** What {@link serveOperationsDirectly} needs from the app. */
export interface DirectDeps {
  schema: GraphQLSchema;
  path: string;
  /** Whether clients may introspect: without it, a document asking for the schema is Apollo's to refuse. */
  introspection: boolean;
  documents: DocumentCache;
  mutations: MutationLimiter;
  /**
   * The caller of an Authorization header, exactly as Apollo's context would find it: null for none (or
   * an empty `Bearer`), undefined when the header is refused (Apollo then answers 401).
   */
  principalOf(header: string | undefined): Promise<Principal | null | undefined>;
  contextFor(principal: Principal | null, req: FastifyRequest): Context;
  execute(run: OperationRun): ExecutionResult | Promise<ExecutionResult>;
  log: { error(fields: object, message: string): void };
}

/** Documents checked against introspection when it is off: whether each may run here. */
const introspectionFree = new WeakMap<DocumentNode, boolean>();

/**
 * Answers queries and mutations before Apollo's request pipeline: a POST of JSON to `path` whose
 * document passes every check the pipeline makes (parsing, validation, depth, aliases, complexity, NUL
 * characters, introspection when off), whose variables coerce and whose token verifies is executed
 * here with the same context, rate limit, execution, error formatting and logging, and answered as
 * Apollo answers it. Apollo's pipeline (its plugins' hooks, content negotiation, the query hash, its
 * document cache) cost a mutation's process about a tenth of its CPU and a fifth of the memory it
 * allocates, for a request that needs none of it.
 *
 * Anything else goes on to Apollo untouched and gets Apollo's own answer: every refusal before
 * execution (so status codes and error wording stay Apollo's), subscriptions, catalogue-only queries
 * (kept by its answer cache) and anything unusual in the request (extensions, another Accept).
 * Nothing with an effect happens before a request is known to stay here.
 */
export function serveOperationsDirectly(http: FastifyInstance, deps: DirectDeps): void {
  http.addHook('preHandler', async (req, reply) => {
    const body = jsonBodyOf(req, deps.path);
    if (!body || body.extensions !== undefined) return;
    const { query, variables, operationName } = body;
    if (typeof query !== 'string' || !(operationName == null || typeof operationName === 'string') || !isVariables(variables)) return;
    const prepared = deps.documents.prepare(query, variables, operationName);
    if (prepared.errors) return;
    const { document } = prepared;
    const operation = getOperationAST(document, operationName ?? undefined);
    // The catalogue's own answer cache runs in Apollo's pipeline (a type guard's false would narrow here).
    const catalogue: boolean = isCatalogueQuery(operation ?? undefined);
    if (!operation || operation.operation === OperationTypeNode.SUBSCRIPTION || catalogue) return;
    if (!deps.introspection && !mayRunWithoutIntrospection(deps.schema, document)) return;
    if (getVariableValues(deps.schema, operation.variableDefinitions ?? [], variables ?? {}).errors) return;
    const principal = await deps.principalOf(req.headers.authorization);
    if (principal === undefined) return;

    req.operationName = operation.name?.value;
    if (principal) req.callerId = principal.sub;
    if (operation.operation === OperationTypeNode.MUTATION) {
      try {
        await deps.mutations.consume(callerKey(principal?.sub, req.ip));
      } catch (e) {
        if (!(e instanceof RateLimitedError)) throw e;
        const after = e.extensions.retryAfterSeconds;
        reply.header('retry-after', String(typeof after === 'number' ? after : 1));
        return answer(reply, 429, { errors: [formatError(e.toJSON(), e)] });
      }
    }
    const result = await deps.execute({ document, operationName, variables, context: deps.contextFor(principal, req) });
    return answer(reply, 200, formatted(result, String(req.id), operation, deps.log));
  });
}

/** Absent, null, or a JSON object (Apollo refuses anything else). */
const isVariables = (v: unknown): v is Record<string, unknown> | null | undefined => v == null || (typeof v === 'object' && !Array.isArray(v));

function mayRunWithoutIntrospection(schema: GraphQLSchema, document: DocumentNode): boolean {
  let free = introspectionFree.get(document);
  if (free === undefined) introspectionFree.set(document, (free = validate(schema, document, [NoSchemaIntrospectionCustomRule]).length === 0));
  return free;
}

/**
 * The result as Apollo sends it: errors first, each shaped by {@link formatError}, and every unexpected
 * one logged (the client sees INTERNAL_SERVER_ERROR).
 */
function formatted(result: ExecutionResult, reqId: string, operation: OperationDefinitionNode, log: DirectDeps['log']): object {
  if (!result.errors?.length) return { data: result.data };
  for (const e of result.errors) {
    if (!isExpected(e)) log.error({ reqId, op: operation.name?.value, err: e.originalError ?? e }, 'unexpected error');
  }
  return { errors: result.errors.map((e) => formatError(e.toJSON(), e)), data: result.data };
}

function answer(reply: FastifyReply, status: number, body: object): FastifyReply {
  return reply.code(status).header('content-type', 'application/json; charset=utf-8').send(`${JSON.stringify(body)}\n`);
}
