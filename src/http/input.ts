import type { FastifyRequest } from 'fastify';
import { GraphQLError, getOperationAST, visit, type DocumentNode } from 'graphql';
import { ErrorCode } from '../shared/errors';

/** U+0000: PostgreSQL's text and jsonb cannot hold it, so no argument of this API can carry it. */
const NUL = '\u0000';

/** Whether `value` (a variable's JSON value) holds a string with a NUL character, walked without recursion. */
function holdsNul(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length) {
    const v = pending.pop();
    if (typeof v === 'string') {
      if (v.includes(NUL)) return true;
    } else if (Array.isArray(v)) {
      pending.push(...(v as unknown[]));
    } else if (v !== null && typeof v === 'object') {
      for (const [k, inner] of Object.entries(v)) {
        if (k.includes(NUL)) return true;
        pending.push(inner);
      }
    }
  }
  return false;
}

/**
 * Whether a document has a string literal holding NUL, by document: Apollo (and the WebSocket document
 * cache) hand out one parsed document per query text, so an operation sent again is not walked again.
 */
const literalNul = new WeakMap<DocumentNode, boolean>();

function hasNulLiteral(document: DocumentNode): boolean {
  let known = literalNul.get(document);
  if (known === undefined) {
    known = false;
    visit(document, {
      StringValue(node) {
        if (node.value.includes(NUL)) known = true;
      },
    });
    literalNul.set(document, known);
  }
  return known;
}

/**
 * Refuses text the database cannot store before any resolver runs: a NUL character in a string
 * literal of the document or in a variable the operation declares. Left alone it reaches SQL and
 * fails there, which the client would see as INTERNAL_SERVER_ERROR instead of its own mistake.
 * Null when the operation's text is fine.
 */
export function nulCharacterError(document: DocumentNode, variables?: Record<string, unknown> | null, operationName?: string | null): GraphQLError | null {
  const refuse = (what: string) =>
    new GraphQLError(`${what} contains a NUL character (U+0000), which no argument accepts`, { extensions: { code: ErrorCode.BAD_USER_INPUT } });
  if (hasNulLiteral(document)) return refuse('A string in the operation');
  const operation = getOperationAST(document, operationName ?? undefined);
  for (const definition of operation?.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    if (variables && Object.prototype.hasOwnProperty.call(variables, name) && holdsNul(variables[name])) return refuse(`Variable "$${name}"`);
  }
  return null;
}

/** Accept headers for which Apollo answers `application/json` (none, anything, or exactly that). */
const JSON_ACCEPTS = new Set([undefined, '*/*', 'application/json']);

/**
 * The body of a POST of a JSON object to `path` that Apollo would answer as `application/json`, for the
 * paths that answer such requests before Apollo runs; null for any other request, which Apollo answers.
 */
export function jsonBodyOf(req: FastifyRequest, path: string): Record<string, unknown> | null {
  if (req.method !== 'POST' || req.routeOptions.url !== path || !JSON_ACCEPTS.has(req.headers.accept)) return null;
  const type = req.headers['content-type'];
  if (typeof type !== 'string' || type.split(';')[0].trim().toLowerCase() !== 'application/json') return null;
  const body = req.body;
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : null;
}
