import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { ArgumentValidationError } from 'type-graphql';
import type { ValidationError } from 'class-validator';
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

/** Whether an error is one a client may see as it is. */
export function isExpected(error: unknown): boolean {
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
    const d = describe(original.extensions.validationErrors as ValidationError[]);
    return {
      message: d ? `${d.field}: ${d.message}` : 'Invalid arguments',
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: ErrorCode.BAD_USER_INPUT, ...(d ? { field: d.field } : {}) },
    };
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
