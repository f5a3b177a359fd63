import type { Server } from 'node:http';
import { GraphQLError, type DocumentNode, type GraphQLSchema } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { FastifyBaseLogger } from 'fastify';
import type { Context } from '../context';
import type { Principal, TokenVerifier } from '../infra/auth';
import { formatError } from './errors';
import { RateLimitedError } from '../shared/errors';

/** Custom close code for a missing token at the first operation (4401 Unauthorized, as graphql-ws' own 4403). */
export const CLOSE_UNAUTHORIZED = 4401;
/** The most operations one socket may run at once. */
export const MAX_SUBSCRIPTIONS_PER_CONNECTION = 50;

type Params = Record<string, unknown> | undefined;

/** The bearer token of connection params or of an operation's `extensions.headers` (what GraphiQL sends). */
export function tokenFrom(params: Params): string | undefined {
  if (!params || typeof params !== 'object') return undefined;
  // A bare `Bearer ` (the IDE's header placeholder) is no token at all.
  const given = (v: unknown) => typeof v === 'string' && !/^\s*(bearer)?\s*$/i.test(v);
  const direct = params.authorization ?? params.Authorization;
  if (given(direct)) return direct as string;
  const headers = params.headers as Params;
  const nested = headers?.authorization ?? headers?.Authorization;
  return given(nested) ? (nested as string) : undefined;
}

type Extra = {
  principal?: Principal;
};

/**
 * graphql-ws on the HTTP server's `/graphql` path. A token in `connectionParams` is checked at
 * connect (a bad one closes with 4403); a socket without one may still authenticate with its first
 * operation's `extensions.headers` (the IDE's way), and one that never does is closed with 4401.
 */
export function attachWebSocket(opts: {
  server: Server;
  schema: GraphQLSchema;
  verifier: TokenVerifier;
  log: FastifyBaseLogger;
  context: (principal: Principal | null) => Context;
  path?: string;
  /** How long a socket may wait before `connection_init` (closed with 4408 after it). Default 10 s. */
  initTimeoutMs?: number;
  /**
   * Parses and validates an authenticated operation and applies the abuse limits (depth, aliases,
   * complexity, mutation rate); errors returned are sent as the operation's `error` message and nothing
   * runs. The document returned is executed as it is (it may be shared with other operations).
   */
  prepareOperation?: (
    caller: { principal: Principal | null; ip: string | undefined },
    payload: { query: string; variables?: Record<string, unknown> | null; operationName?: string | null },
  ) => Promise<{ document: DocumentNode; errors?: undefined } | { document?: undefined; errors: readonly GraphQLError[] }>;
}) {
  const wss = new WebSocketServer({ server: opts.server, path: opts.path ?? '/graphql', maxPayload: 64 * 1024 });
  // Ids of the operations each socket runs now: added once an operation is accepted, removed when it
  // completes or errors (graphql-ws calls onComplete or onError exactly once for an accepted one).
  const running = new WeakMap<object, Set<string>>();
  const runningOf = (ctx: object) => {
    let ids = running.get(ctx);
    if (!ids) running.set(ctx, (ids = new Set()));
    return ids;
  };
  /** Closes the socket and stops the operation without answering it on the closing socket. */
  const refuse = (ctx: { subscriptions: Record<string, unknown>; extra: { socket: { close(code: number, reason: string): void } } }, id: string, code: number, reason: string) => {
    ctx.extra.socket.close(code, reason);
    delete ctx.subscriptions[id];
    return [new GraphQLError(reason)];
  };
  const disposable = useServer<Params, Extra>(
    {
      schema: opts.schema,
      connectionInitWaitTimeout: opts.initTimeoutMs ?? 10_000,
      onConnect: async (ctx) => {
        const token = tokenFrom(ctx.connectionParams);
        if (!token) return true;
        try {
          ctx.extra.principal = await opts.verifier.verifyHeader(token);
          return true;
        } catch {
          return false; // graphql-ws closes with 4403 Forbidden
        }
      },
      onSubscribe: async (ctx, id, payload) => {
        if (!ctx.extra.principal) {
          const token = tokenFrom(payload.extensions as Params);
          if (!token) return refuse(ctx, id, CLOSE_UNAUTHORIZED, 'Unauthorized: send connectionParams.authorization');
          try {
            ctx.extra.principal = await opts.verifier.verifyHeader(token);
          } catch {
            return refuse(ctx, id, CloseCode.Forbidden, 'Forbidden: invalid token');
          }
        }
        // Over the cap, this operation alone is refused; the socket and its other subscriptions live on.
        if (runningOf(ctx).size >= MAX_SUBSCRIPTIONS_PER_CONNECTION) {
          return [new RateLimitedError(`At most ${MAX_SUBSCRIPTIONS_PER_CONNECTION} operations may run at once on one connection`)];
        }
        if (!opts.prepareOperation) {
          runningOf(ctx).add(id);
          return;
        }
        const prepared = await opts.prepareOperation({ principal: ctx.extra.principal ?? null, ip: ctx.extra.request.socket.remoteAddress }, payload);
        if (prepared.errors) return [...prepared.errors];
        runningOf(ctx).add(id);
        // graphql-ws adds the context; the document is not parsed or validated again.
        return { schema: opts.schema, document: prepared.document, variableValues: payload.variables, operationName: payload.operationName };
      },
      onComplete: (ctx, id) => {
        runningOf(ctx).delete(id);
      },
      context: (ctx) => opts.context(ctx.extra.principal ?? null),
      onError: (ctx, id, _payload, errors) => {
        runningOf(ctx).delete(id);
        return errors.map((e) => formatError(e.toJSON(), e) as never);
      },
      onNext: (_ctx, _id, _payload, _args, result) => {
        if (!('errors' in result) || !result.errors) return result;
        return { ...result, errors: result.errors.map((e) => formatError(e.toJSON(), e)) } as never;
      },
    },
    wss,
    12_000,
  );
  return {
    wss,
    /** Closes every socket with 1001 Going Away so clients reconnect elsewhere, then stops the server. */
    async close(): Promise<void> {
      for (const client of wss.clients) client.close(1001, 'Server shutting down');
      await disposable.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
