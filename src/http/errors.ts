import { unwrapResolverError } from '@apollo/server/errors';
import type { ValidationError } from 'class-validator';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { ArgumentValidationError } from 'type-graphql';
import { AppError, ErrorCode, INTERNAL_MESSAGE } from '../shared/errors';

/** Codes of errors raised before any resolver runs; Apollo's own, kept as they are (CONTRACT.md, Errors). */
const REQUEST_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'BAD_USER_INPUT',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

/** First failing constraint as `path: message`, walking nested inputs. */
function describe(errors: ValidationError[], prefix = ''): { field: string; message: string } | null {
  for (const e of errors) {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    const constraint = e.constraints && Object.values(e.constraints)[0];
    if (constraint) return { field, message: constraint };
    const nested = describe(e.children ?? [], field);
    if (nested) return nested;
  }
  return null;
}

/**
 * Apollo's own refusals of a request that carry an HTTP 4xx head and no code (a persisted query
 * whose hash does not match its text, an unknown persisted-query version): the client's mistake,
 * answered as BAD_REQUEST.
 */
function isCodelessRefusal(error: unknown): boolean {
  if (!(error instanceof GraphQLError) || error.path || error.originalError || error.extensions?.code !== undefined) return false;
  const status = (error.extensions?.http as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/** Whether an error is one a client may see as it is. */
export function isExpected(error: unknown): boolean {
  if (isCodelessRefusal(error)) return true;
  const original = unwrapResolverError(error);
  if (original instanceof AppError || original instanceof ArgumentValidationError) return true;
  // Errors thrown while building the context (a bad token) arrive wrapped once more.
  if (error instanceof GraphQLError && error.originalError instanceof AppError) return true;
  // Errors of the request itself (parsing, validation, variable coercion) have no path; a variable
  // coercion error wraps the GraphQLError that describes the bad value, which is safe to show.
  return (
    error instanceof GraphQLError &&
    !error.path &&
    (!error.originalError || error.originalError instanceof GraphQLError) &&
    REQUEST_CODES.has(String(error.extensions?.code))
  );
}

/**
 * Shapes every error sent to clients: contract errors pass, argument validation becomes BAD_USER_INPUT
 * naming the field, and anything unexpected is masked (no message, SQL or stack leaves the server).
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  if (original instanceof ArgumentValidationError) {
    const d = describe(original.extensions.validationErrors);
    return {
      message: d ? `${d.field}: ${d.message}` : 'Invalid arguments',
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: ErrorCode.BAD_USER_INPUT, ...(d ? { field: d.field } : {}) },
    };
  }
  if (isCodelessRefusal(error)) {
    return { message: formatted.message, extensions: { code: 'BAD_REQUEST' } };
  }
  if (isExpected(error)) {
    const { stacktrace: _s, exception: _e, http: _h, ...extensions } = formatted.extensions ?? {};
    const wrapped = error instanceof GraphQLError && error.originalError instanceof AppError ? error.originalError : null;
    return wrapped ? { message: wrapped.message, extensions: { ...extensions, code: wrapped.extensions.code } } : { ...formatted, extensions };
  }
  return {
    message: INTERNAL_MESSAGE,
    locations: formatted.locations,
    path: formatted.path,
    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
  };
}

/**
 * Fastify's error handler. A request refused before GraphQL runs (a body that is not JSON, too large,
 * of an unsupported type) keeps its 4xx status and, on `/graphql`, answers in GraphQL's error shape
 * with BAD_REQUEST. Anything else is logged and answered with a generic 500: Fastify's default would
 * send the error's own message.
 */
export function httpErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const status = error.statusCode;
  const graphql = request.url.split('?')[0] === '/graphql';
  if (status && status >= 400 && status < 500) {
    return reply.code(status).send(graphql ? { errors: [{ message: error.message, extensions: { code: 'BAD_REQUEST' } }] } : { statusCode: status, error: error.message });
  }
  request.log.error({ err: error }, 'unexpected error');
  return reply
    .code(500)
    .send(graphql ? { errors: [{ message: INTERNAL_MESSAGE, extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } }] } : { statusCode: 500, error: INTERNAL_MESSAGE });
}
