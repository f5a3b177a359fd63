import type { ApolloServerPlugin } from '@apollo/server';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config';
import type { Context } from '../context';
import { isExpected } from './errors';

declare module 'fastify' {
  interface FastifyRequest {
    operationName?: string;
    callerId?: string;
  }
}

/** Where log lines go when not to stdout (tests capture them): anything with pino's `write`. */
export interface LogDestination {
  write(line: string): void;
}

/**
 * Paths pino blanks out wherever they occur in a logged object: credentials of callers, of Stripe
 * and of the webhook, so a token or a key never reaches the logs even when a request is logged whole.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["stripe-signature"]',
  'headers.authorization',
  'headers.cookie',
  'headers["stripe-signature"]',
  'authorization',
  'connectionParams.authorization',
  'variables.password',
];

/** Fastify's logger options: pino at LOG_LEVEL, JSON lines, credentials redacted. */
export function loggerOptions(config: Config, destination?: LogDestination) {
  return {
    level: config.logLevel,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    ...(destination ? { stream: destination } : {}),
  };
}

/**
 * One line per request when it is answered: request id, method, path (no query string, which may carry
 * a GET operation's variables), status, duration, GraphQL operation name and caller id.
 */
export function registerRequestLog(http: FastifyInstance): void {
  http.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  http.addHook('onResponse', async (req, reply) => {
    http.log.info(
      {
        reqId: req.id,
        method: req.method,
        url: req.url.split('?')[0],
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
        op: req.operationName,
        caller: req.callerId,
      },
      'request',
    );
  });
}

/**
 * Apollo plugin: names the request's operation for the request line, and logs every unexpected error
 * (the client only sees INTERNAL_SERVER_ERROR) with the request id, so the two can be joined.
 */
export function operationLogPlugin(log: FastifyBaseLogger): ApolloServerPlugin<Context> {
  return {
    async requestDidStart({ request, contextValue }) {
      const req = (contextValue as Context & { req?: FastifyRequest }).req;
      if (req && request.operationName) req.operationName = request.operationName;
      return {
        async didResolveOperation({ operationName }) {
          if (req) req.operationName = operationName ?? undefined;
        },
        async didEncounterErrors({ errors, operationName }) {
          for (const e of errors) {
            if (!isExpected(e)) log.error({ reqId: contextValue.requestId, op: operationName ?? request.operationName, err: e.originalError ?? e }, 'unexpected error');
          }
        },
      };
    },
  };
}
