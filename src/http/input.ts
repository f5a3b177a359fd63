import type { FastifyRequest } from 'fastify';
import { GraphQLError, getOperationAST, visit, type DocumentNode } from 'graphql';
import { ErrorCode } from '../shared/errors';

/** U+0000: PostgreSQL's text and jsonb cannot hold it, so no argument of this API can carry it. */
const NUL = '\u0000';

/** The error message's end for text holding {@link NUL}. */
const NUL_FLAW = 'a NUL character (U+0000), which no argument accepts';

/**
 * `String.prototype.isWellFormed()` (Node 20, ES2024), typed here because the project's `lib` is ES2023.
 * Native, and far cheaper than a regular expression looking for lone surrogates: it runs on every string
 * of every request's variables.
 */
const isWellFormed = (text: string): boolean => (text as unknown as { isWellFormed(): boolean }).isWellFormed();

/** The first unpaired UTF-16 surrogate of `text` as "U+D800"; only called once `text` is known to have one. */
function loneSurrogateIn(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0xd800 || unit > 0xdfff) continue;
    const next = text.charCodeAt(i + 1);
    if (unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) i++;
    else return `U+${unit.toString(16).toUpperCase()}`;
  }
  return 'U+D800-U+DFFF';
}

/**
 * Why the database cannot store `text` exactly, as the end of an error message; null when it can. A lone
 * surrogate is valid JSON (`"\ud800"`) but not Unicode: jsonb refuses it (the audit log's insert fails)
 * and text columns silently store U+FFFD in its place, so the client would get an internal error or
 * lose what it sent.
 */
function flawOf(text: string): string | null {
  if (text.includes(NUL)) return NUL_FLAW;
  if (!isWellFormed(text)) return `a lone UTF-16 surrogate (${loneSurrogateIn(text)}), which is not well-formed Unicode and no argument accepts`;
  return null;
}

/**
 * What is wrong with the first string or object key in `value` (a variable's JSON value) that the
 * database cannot store, walked without recursion so that deep nesting cannot overflow the stack; null
 * when there is none. One walk checks every flaw: it runs on every request's variables.
 */
function textFlawIn(value: unknown): string | null {
  const pending: unknown[] = [value];
  while (pending.length) {
    const v = pending.pop();
    if (typeof v === 'string') {
      const flaw = flawOf(v);
      if (flaw) return flaw;
    } else if (Array.isArray(v)) {
      // One push per item: spreading a list of some 150,000 items into push() overflows the stack.
      for (const item of v as unknown[]) pending.push(item);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, inner] of Object.entries(v)) {
        const flaw = flawOf(k);
        if (flaw) return flaw;
        pending.push(inner);
      }
    }
  }
  return null;
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
 * Refuses text the database cannot store before any resolver runs: a NUL character in a string literal
 * of the document, or a NUL character or lone UTF-16 surrogate in a string or object key of a variable the
 * operation declares. Left alone it reaches SQL and fails there, which the client would see as
 * INTERNAL_SERVER_ERROR instead of its own mistake, or is stored altered. (Literals need no surrogate
 * check: graphql-js refuses a lone surrogate in the source or a `\u` escape as a syntax error.)
 * Null when the operation's text is fine.
 */
export function unstorableTextError(document: DocumentNode, variables?: Record<string, unknown> | null, operationName?: string | null): GraphQLError | null {
  const refuse = (what: string, flaw: string) => new GraphQLError(`${what} contains ${flaw}`, { extensions: { code: ErrorCode.BAD_USER_INPUT } });
  if (hasNulLiteral(document)) return refuse('A string in the operation', NUL_FLAW);
  const operation = getOperationAST(document, operationName ?? undefined);
  for (const definition of operation?.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    if (!variables || !Object.prototype.hasOwnProperty.call(variables, name)) continue;
    const flaw = textFlawIn(variables[name]);
    if (flaw) return refuse(`Variable "$${name}"`, flaw);
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
