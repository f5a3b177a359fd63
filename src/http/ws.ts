import type { FastifyBaseLogger } from 'fastify';
import { getOperationAST, GraphQLError, type DocumentNode, type ExecutionArgs, type ExecutionResult, type GraphQLSchema } from 'graphql';
import type { PromiseOrValue } from 'graphql/jsutils/PromiseOrValue';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { decodeJwt } from 'jose';
import type { Server } from 'node:http';
import { WebSocketServer } from 'ws';
import type { Context } from '../context';
import type { Principal, TokenVerifier } from '../infra/auth';
import { INTERNAL_MESSAGE, RateLimitedError } from '../shared/errors';
import type { OperationRun } from './compiled-execution';
import { formatError, isExpected } from './errors';
import { heartbeat } from './heartbeat';
import { variableErrors } from './limits';

/** Custom close code for a socket without a token at its first operation or at the init timeout (4401 Unauthorized, as graphql-ws' own 4403). */
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

/**
 * How often each socket is pinged, and how long its pong may take before the socket is dropped (see
 * {@link heartbeat}). graphql-ws' default of 12 s makes 10,000 idle subscribers cost the server 833
 * socket writes a second (and as many pongs to read), as many as the changes it exists to deliver.
 * 30 s still keeps a socket alive through the 60 s idle timeouts of common proxies and load
 * balancers, and drops a vanished client within a minute.
 */
export const KEEP_ALIVE_MS = 30_000;

/** Custom close code for a socket over its caller's allowance (graphql-ws uses 4429 for "too many"). */
export const CLOSE_TOO_MANY = 4429;
/** setTimeout's longest delay; a token valid for longer is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What one socket holds beyond graphql-ws' own context: who it counts for and its timers. */
interface SocketState {
  /** The allowance it is counted under (`sub:<id>` once authenticated, `ip:<address>` before). */
  key?: string;
  /** The token's `exp` in epoch ms; the socket lives no longer. */
  expiresAt?: number;
  timer?: NodeJS.Timeout;
  closed: boolean;
}

type Extra = {
  principal?: Principal;
  state?: SocketState;
};

/** What graphql-ws hands an operation to execute or subscribe with, as {@link OperationRun}. */
const runOf = (args: ExecutionArgs): OperationRun => ({
  document: args.document,
  operationName: args.operationName,
  variables: args.variableValues,
  context: args.contextValue,
  rootValue: args.rootValue,
});

/** The `exp` of a token that has just verified, in epoch ms (undefined when it has none). */
function expiryOf(header: string): number | undefined {
  try {
    const exp = decodeJwt(header.replace(/^\s*Bearer\s+/i, '').trim()).exp;
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** Runs `fn` at `epochMs`, in steps when that is further than one timer can wait. */
function at(state: SocketState, epochMs: number, fn: () => void): void {
  clearTimeout(state.timer);
  const left = epochMs - Date.now();
  if (left <= 0) return fn();
  state.timer = setTimeout(() => at(state, epochMs, fn), Math.min(left, MAX_TIMER_MS));
  state.timer.unref();
}

/**
 * graphql-ws on the HTTP server's `/graphql` path. A token in `connectionParams` is checked at
 * connect (a bad or expired one closes with 4403); a socket without one may still authenticate with
 * its first operation's `extensions.headers` (the IDE's way), and one that has not within the init
 * timeout, or sends an operation without a token, is closed with 4401. A socket lives no longer than
 * its token: at its `exp` the socket is closed with 4403, running subscriptions included, and no
 * operation starts after it. Each caller (token subject; the address for a socket not yet
 * authenticated) holds at most `maxSocketsPerCaller` sockets; one more is closed with 4429.
 */
export function attachWebSocket(opts: {
  server: Server;
  schema: GraphQLSchema;
  verifier: TokenVerifier;
  log: FastifyBaseLogger;
  context: (principal: Principal | null) => Context;
  path?: string;
  /**
   * How long a socket may wait before `connection_init` (closed with 4408 after it) and before it
   * authenticates, with `connectionParams` or an operation's token (closed with 4401). Default 10 s.
   */
  initTimeoutMs?: number;
  /** Sockets one caller may hold at once on this instance (default 20). */
  maxSocketsPerCaller?: number;
  /** Largest message a socket may send, as BODY_LIMIT_BYTES bounds a request's body (default 100 KiB); ws closes the socket with 1009 past it. */
  maxMessageBytes?: number;
  /**
   * Parses and validates an authenticated operation and applies the abuse limits (depth, aliases,
   * complexity, mutation rate); errors returned are sent as the operation's `error` message and nothing
   * runs. The document returned is executed as it is (it may be shared with other operations).
   */
  prepareOperation?: (
    caller: { principal: Principal | null; ip: string | undefined },
    payload: { query: string; variables?: Record<string, unknown> | null; operationName?: string | null },
  ) => Promise<{ document: DocumentNode; errors?: undefined } | { document?: undefined; errors: readonly GraphQLError[] }>;
  /** Runs queries and mutations (graphql-js's `execute` without it). */
  execute?: (run: OperationRun) => PromiseOrValue<ExecutionResult>;
  /** Runs subscriptions: their event streams and each event's execution (graphql-js's `subscribe` without it). */
  subscribe?: (run: OperationRun) => Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult>;
}) {
  const initTimeoutMs = opts.initTimeoutMs ?? 10_000;
  const maxSockets = opts.maxSocketsPerCaller ?? 20;
  const wss = new WebSocketServer({ server: opts.server, path: opts.path ?? '/graphql', maxPayload: opts.maxMessageBytes ?? 100 * 1024 });
  // When each socket opened: the init timeout bounds its whole unauthenticated life, from the start.
  const openedAt = new WeakMap<object, number>();
  wss.on('connection', (socket) => openedAt.set(socket, Date.now()));

  // Sockets held per allowance key. Counted from connection_init (a socket that never sends one is
  // closed by the init timeout), so a burst of handshakes carrying tokens is never refused for the
  // moment before their init is read. Per process: with several instances each has its own count.
  const held = new Map<string, number>();
  const release = (state: SocketState) => {
    if (!state.key) return;
    const n = (held.get(state.key) ?? 1) - 1;
    if (n > 0) held.set(state.key, n);
    else held.delete(state.key);
    state.key = undefined;
  };
  /** Moves the socket under `key`; false when that is over the allowance (the caller closes it). */
  const hold = (state: SocketState, key: string): boolean => {
    if (state.closed) return false;
    if (state.key === key) return true;
    release(state);
    state.key = key;
    const n = (held.get(key) ?? 0) + 1;
    held.set(key, n);
    return n <= maxSockets;
  };
  const tooMany = `Too many sockets: at most ${maxSockets} per caller`;
  const expired = (state: SocketState | undefined) => state?.expiresAt !== undefined && Date.now() >= state.expiresAt;

  /**
   * Gives the socket its caller: counted under the subject and closed with 4403 at the token's `exp`.
   * Returns the close code and reason when the socket may not live on.
   */
  const authenticate = (
    extra: Extra & { socket: { close(code: number, reason: string): void } },
    principal: Principal,
    header: string,
  ): { code: number; reason: string } | null => {
    const state = extra.state!;
    const expiresAt = expiryOf(header);
    // The verifier allows a few seconds of clock skew on `exp`; a socket ends at `exp` itself.
    if (expiresAt !== undefined && Date.now() >= expiresAt) return { code: CloseCode.Forbidden, reason: 'Forbidden: token expired' };
    if (!hold(state, `sub:${principal.sub}`)) return { code: CLOSE_TOO_MANY, reason: tooMany };
    extra.principal = principal;
    state.expiresAt = expiresAt;
    clearTimeout(state.timer);
    state.timer = undefined;
    if (expiresAt !== undefined) at(state, expiresAt, () => extra.socket.close(CloseCode.Forbidden, 'Forbidden: token expired'));
    return null;
  };

  // The operations each socket holds: each id with the payload of the run that took it (graphql-ws
  // hands the same payload object to onSubscribe, onError and onComplete, so a reused id is never
  // confused with its earlier run). A place is taken when the message is read, before anything is
  // awaited: a burst of subscribe frames is read in one go, and a check made after an await would let
  // every one of them in. It is given back when the run ends (graphql-ws calls onComplete once for one
  // that ran, even after the client's complete, or onError), or by onSubscribe itself when it answers
  // with errors. Not at the client's complete: graphql-ws frees an id then, even while its run is still
  // subscribing, and a second run under that id would leave the first streaming past the socket's close.
  const running = new WeakMap<object, Map<string, object>>();
  const runningOf = (ctx: object) => {
    let ops = running.get(ctx);
    if (!ops) running.set(ctx, (ops = new Map<string, object>()));
    return ops;
  };
  /** Gives back `id`'s place if `payload`'s run holds it. */
  const end = (ctx: object, id: string, payload: object) => {
    const ops = runningOf(ctx);
    if (ops.get(id) === payload) ops.delete(id);
  };
  /** Closes the socket and stops the operation without answering it on the closing socket. */
  const refuse = (
    ctx: { subscriptions: Record<string, unknown>; extra: { socket: { close(code: number, reason: string): void } } },
    id: string,
    payload: object,
    code: number,
    reason: string,
  ) => {
    ctx.extra.socket.close(code, reason);
    delete ctx.subscriptions[id];
    end(ctx, id, payload);
    return [new GraphQLError(reason)];
  };
  const disposable = useServer<Params, Extra>(
    {
      schema: opts.schema,
      execute: opts.execute ? (args) => opts.execute!(runOf(args)) : undefined,
      subscribe: opts.subscribe ? (args) => opts.subscribe!(runOf(args)) : undefined,
      connectionInitWaitTimeout: initTimeoutMs,
      onConnect: async (ctx) => {
        const socket = ctx.extra.socket;
        const state: SocketState = (ctx.extra.state = { closed: false });
        socket.once('close', () => {
          state.closed = true;
          clearTimeout(state.timer);
          release(state);
        });
        const token = tokenFrom(ctx.connectionParams);
        if (token) {
          let principal: Principal;
          try {
            principal = await opts.verifier.verifyHeader(token);
          } catch {
            return false; // graphql-ws closes with 4403 Forbidden
          }
          const refused = authenticate(ctx.extra, principal, token);
          if (refused) socket.close(refused.code, refused.reason);
          return !refused;
        }
        // No token yet: counted under the address, and closed if no operation brings one in time.
        if (!hold(state, `ip:${ctx.extra.request.socket.remoteAddress ?? 'unknown'}`)) {
          socket.close(CLOSE_TOO_MANY, tooMany);
          return false;
        }
        const deadline = (openedAt.get(socket) ?? Date.now()) + initTimeoutMs;
        at(state, deadline, () => {
          if (!ctx.extra.principal) socket.close(CLOSE_UNAUTHORIZED, 'Unauthorized: no token within the connection timeout');
        });
        return true;
      },
      onSubscribe: async (ctx, id, payload) => {
        const state = ctx.extra.state;
        const ops = runningOf(ctx);
        // An id whose run has not ended is in use: the protocol's answer (graphql-ws' own for an id it knows).
        if (ops.has(id)) return refuse(ctx, id, payload, CloseCode.SubscriberAlreadyExists, `Subscriber for ${id} already exists`);
        // Over the cap, this operation alone is refused; the socket and its other operations live on.
        if (ops.size >= MAX_SUBSCRIPTIONS_PER_CONNECTION) {
          return [new RateLimitedError(`At most ${MAX_SUBSCRIPTIONS_PER_CONNECTION} operations may run at once on one connection`)];
        }
        ops.set(id, payload);
        /** Errors answered instead of running the operation: its place is free again. */
        const refused = (errors: readonly GraphQLError[]) => {
          end(ctx, id, payload);
          return [...errors];
        };
        if (!ctx.extra.principal) {
          const token = tokenFrom(payload.extensions as Params);
          if (!token) return refuse(ctx, id, payload, CLOSE_UNAUTHORIZED, 'Unauthorized: send connectionParams.authorization');
          let principal: Principal;
          try {
            principal = await opts.verifier.verifyHeader(token);
          } catch {
            return refuse(ctx, id, payload, CloseCode.Forbidden, 'Forbidden: invalid token');
          }
          const denied = authenticate(ctx.extra, principal, token);
          if (denied) return refuse(ctx, id, payload, denied.code, denied.reason);
        }
        // The expiry timer closes the socket at `exp`; this catches an operation read before it ran.
        if (expired(state)) return refuse(ctx, id, payload, CloseCode.Forbidden, 'Forbidden: token expired');
        if (!opts.prepareOperation) return;
        let prepared: Awaited<ReturnType<NonNullable<typeof opts.prepareOperation>>>;
        try {
          prepared = await opts.prepareOperation({ principal: ctx.extra.principal ?? null, ip: ctx.extra.request.socket.remoteAddress }, payload);
        } catch (e) {
          // Answered as this operation's masked error; graphql-ws would close the socket with the raw message.
          opts.log.error({ err: e, op: payload.operationName ?? undefined, caller: ctx.extra.principal?.sub }, 'unexpected error');
          return refused([new GraphQLError(INTERNAL_MESSAGE)]);
        }
        if (prepared.errors) return refused(prepared.errors);
        // graphql-ws would answer "Unable to identify operation" without a code, masked as an internal
        // error; HTTP answers it as Apollo does, with these messages.
        const operation = getOperationAST(prepared.document, payload.operationName ?? undefined);
        if (!operation) {
          const message = payload.operationName ? `Unknown operation named "${payload.operationName}".` : 'Must provide operation name if query contains multiple operations.';
          return refused([new GraphQLError(message, { extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } })]);
        }
        // Variables that do not coerce: graphql-js refuses them with errors that carry no code, which
        // would be masked as internal ones.
        const invalid = variableErrors(opts.schema, operation, payload.variables);
        if (invalid.length) return refused(invalid);
        if (expired(state)) return refuse(ctx, id, payload, CloseCode.Forbidden, 'Forbidden: token expired');
        // graphql-ws adds the context; the document is not parsed or validated again.
        return { schema: opts.schema, document: prepared.document, variableValues: payload.variables, operationName: payload.operationName };
      },
      onComplete: (ctx, id, payload) => end(ctx, id, payload),
      context: (ctx) => opts.context(ctx.extra.principal ?? null),
      onError: (ctx, id, payload, errors) => {
        end(ctx, id, payload);
        return errors.map((e) => formatError(e.toJSON(), e) as never);
      },
      onNext: (ctx, _id, payload, _args, result) => {
        if (!('errors' in result) || !result.errors) return result;
        for (const e of result.errors) {
          // Logged here as HTTP logs them (operationLogPlugin): the client sees INTERNAL_SERVER_ERROR only.
          if (!isExpected(e)) opts.log.error({ op: payload.operationName ?? undefined, caller: ctx.extra.principal?.sub, err: e.originalError ?? e }, 'unexpected error');
        }
        return { ...result, errors: result.errors.map((e) => formatError(e.toJSON(), e)) };
      },
    },
    wss,
    // graphql-ws' keep-alive is off (0): one heartbeat for every socket does its work for less.
    0,
  );
  const beat = heartbeat(wss, KEEP_ALIVE_MS);
  // graphql-ws prints a socket's errors to the console, stack and all. They are the client's doing (a
  // frame over maxPayload, a malformed frame, a reset) and ws closes the socket itself (1009, 1002):
  // a line in the JSON logs is enough. Runs after graphql-ws' own connection listener, replacing its.
  wss.on('connection', (socket) => {
    socket.removeAllListeners('error');
    socket.on('error', (err) => opts.log.warn({ err: err.message }, 'websocket error'));
  });
  return {
    wss,
    /** Closes every socket with 1001 Going Away so clients reconnect elsewhere, then stops the server. */
    async close(): Promise<void> {
      beat.stop();
      for (const client of wss.clients) client.close(1001, 'Server shutting down');
      await disposable.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
