import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import {
  GraphQLError,
  Kind,
  NoSchemaIntrospectionCustomRule,
  OperationTypeNode,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  __Schema,
  __Type,
  getNamedType,
  getNullableType,
  getOperationAST,
  getVariableValues,
  isListType,
  isObjectType,
  parse,
  specifiedRules,
  validate,
  type ASTVisitor,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLObjectType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { fieldExtensionsEstimator, getComplexity, simpleEstimator, type ComplexityEstimator } from 'graphql-query-complexity';
import { LRUCache } from 'lru-cache';
import type { Config } from '../config';
import type { Context } from '../context';
import { RateLimiter } from '../infra/rate-limit';
import { ErrorCode, RateLimitedError } from '../shared/errors';
import { LIST_ITEMS_EXTENSION } from '../shared/list-items';
import { unstorableTextError } from './input';

/** The abuse limits of one deployment (see config: MAX_QUERY_DEPTH, MAX_QUERY_COMPLEXITY, MAX_ALIASES). */
export interface OperationLimits {
  maxDepth: number;
  maxComplexity: number;
  maxAliases: number;
}

/** The limits configured for this process. */
export const limitsOf = (config: Config): OperationLimits => ({
  maxDepth: config.maxQueryDepth,
  maxComplexity: config.maxQueryComplexity,
  maxAliases: config.maxAliases,
});

/** Apollo's code for a document refused before execution; clients already handle it. */
const VALIDATION_FAILED = 'GRAPHQL_VALIDATION_FAILED';

/** Caps the aliased fields of a whole document: aliases are how one request asks for the same costly field many times. */
export function aliasLimit(max: number): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    let count = 0;
    let reported = false;
    return {
      Field(node) {
        if (!node.alias || reported) return;
        count += 1;
        if (count > max) {
          reported = true;
          context.reportError(new GraphQLError(`The operation uses more than ${max} aliases`, { nodes: [node] }));
        }
      },
    };
  };
}

/** The document's fragment definitions by name. */
function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  return fragments;
}

/**
 * Caps how deeply selections nest (fragments expanded where they are spread; introspection fields and
 * what is under them not counted). It runs beside the spec's rules, so it takes the document as it
 * comes: an unknown fragment counts as empty and a fragment met again inside itself stops there; the
 * spec's rules report both. Each fragment is measured once, so fragments spreading each other many
 * times cost one pass.
 */
export function depthLimit(max: number): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = fragmentsOf(context.getDocument());
    const measured = new Map<string, number>();
    const measuring = new Set<string>();
    /** Levels of fields under `set`: 0 for leaves only, 1 when some field has a selection, and so on. */
    const height = (set: SelectionSetNode): number => {
      let deepest = 0;
      for (const s of set.selections) {
        if (s.kind === Kind.FIELD) {
          if (s.selectionSet && !s.name.value.startsWith('__')) deepest = Math.max(deepest, 1 + height(s.selectionSet));
        } else if (s.kind === Kind.INLINE_FRAGMENT) {
          deepest = Math.max(deepest, height(s.selectionSet));
        } else {
          const name = s.name.value;
          let h = measured.get(name);
          if (h === undefined) {
            const fragment = fragments.get(name);
            if (!fragment || measuring.has(name)) continue;
            measuring.add(name);
            h = height(fragment.selectionSet);
            measuring.delete(name);
            measured.set(name, h);
          }
          deepest = Math.max(deepest, h);
        }
      }
      return deepest;
    };
    return {
      OperationDefinition(node) {
        if (height(node.selectionSet) > max) {
          context.reportError(new GraphQLError(`'${node.name?.value ?? ''}' exceeds maximum operation depth of ${max}`, { nodes: [node] }));
        }
        return false;
      },
      FragmentDefinition: () => false,
    };
  };
}

/**
 * Validation rules that need no variables: depth (introspection fields excepted) and aliases. Both
 * survive documents the spec's rules refuse (unknown fragments, fragment cycles), since Apollo runs
 * them together with those rules.
 */
export function limitRules(limits: OperationLimits): ValidationRule[] {
  return [depthLimit(limits.maxDepth), aliasLimit(limits.maxAliases)];
}

/** Items a list with a `first` argument returns when the argument is omitted (the project's connections default to 20). */
export const DEFAULT_PAGE_SIZE = 20;
/** Largest `first` any list accepts; a larger one is refused by its resolver with BAD_USER_INPUT, so it is counted as this. */
const MAX_PAGE_SIZE = 100;

/** The items a field declares through {@link LIST_ITEMS_EXTENSION}; null when it declares none. */
const declaredItems = (extensions: Readonly<Record<string, unknown>> | null | undefined): number | null => {
  const n = extensions?.[LIST_ITEMS_EXTENSION];
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : null;
};

/**
 * Counts a list's selection once per item it may return: a field with a `first` argument returns
 * `first` items (or the argument's declared default, else the field's declared items, else
 * {@link DEFAULT_PAGE_SIZE}); a list at the root of an operation without one (the catalogue, failed
 * gateway events, an order's ledger) counts as the items it declares, else a default page. Each item
 * costs one point plus its selection, so a page read for its `pageInfo` alone still costs its rows.
 * Lists nested in an object without `first` (a plan's upgrades, a connection's edges) belong to their
 * parent's item and count once. Introspection is not counted here: see {@link introspectionEstimator}.
 */
export function listEstimator(schema: GraphQLSchema): ComplexityEstimator {
  const roots = new Set<unknown>([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].filter(Boolean));
  return ({ type, field, args, childComplexity }) => {
    const first = field.args.find((a) => a.name === 'first');
    const declared = declaredItems(field.extensions);
    let items: number;
    if (first) {
      const given: unknown = args.first;
      const fallback = typeof first.defaultValue === 'number' ? first.defaultValue : (declared ?? DEFAULT_PAGE_SIZE);
      items = typeof given === 'number' && Number.isFinite(given) ? Math.min(Math.max(Math.trunc(given), 1), MAX_PAGE_SIZE) : fallback;
    } else if (roots.has(type) && isListType(getNullableType(field.type))) {
      items = declared ?? DEFAULT_PAGE_SIZE;
    } else {
      return undefined;
    }
    return 1 + items * (1 + childComplexity);
  };
}

/**
 * Most nodes one count visits: selections of the document with its fragments expanded, and fields an
 * introspection answers ({@link introspectionEstimator}). A document past it is refused without a
 * figure: nothing the API's clients send comes near it.
 */
const MAX_COUNTED_NODES = 20_000;

/**
 * Counts `__schema` and `__type` as what they answer on this schema, by walking their selection over
 * the schema itself: it is static, so the walk knows what each list holds (the types, a type's fields,
 * a field's arguments), each item costing one point plus its selection, as {@link listEstimator}
 * counts a page. Introspection's lists take no `first`; counted once each, 30 aliased walks of the
 * whole schema (1.8 MB answered, up to a second and a half of the event loop) passed as about 1,300.
 * Counted by what they answer, the IDE's full introspection (about 5,000 on this schema) fits the
 * default limit and two in one operation do not. Arguments are taken at their widest
 * (`includeDeprecated` as true), `@skip`/`@include` inside as included and fragments where they are
 * spread, so nothing answers more fields than were counted. A `__type` named by a variable counts as
 * though it named every type: counts are kept by Int and Boolean variables only (see
 * {@link countedOperation}), so the figure must not depend on a String. The walk gives up past
 * {@link MAX_COUNTED_NODES}: refusing a walk costs milliseconds, not the walk.
 */
function introspectionEstimator(schema: GraphQLSchema, document: DocumentNode): ComplexityEstimator {
  const fragments = fragmentsOf(document);
  // Introspection's resolvers read nothing of the request but the schema.
  const info = { schema } as GraphQLResolveInfo;
  const widest = { includeDeprecated: true };
  let counted = 0;
  const tally = (n: number): number => {
    counted += n;
    if (counted > MAX_COUNTED_NODES) throw new GraphQLError('The operation is too large to count');
    return n;
  };
  /** Points of `set` selected on `value`, an object of the introspection type `on`. */
  const walk = (set: SelectionSetNode, on: GraphQLObjectType, value: unknown): number => {
    let points = 0;
    for (const s of set.selections) {
      if (s.kind === Kind.INLINE_FRAGMENT) {
        points += walk(s.selectionSet, on, value);
        continue;
      }
      if (s.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments.get(s.name.value);
        if (fragment) points += walk(fragment.selectionSet, on, value);
        continue;
      }
      points += tally(1);
      const field = on.getFields()[s.name.value];
      const of = field && getNamedType(field.type);
      if (!field?.resolve || !s.selectionSet || !isObjectType(of)) continue;
      const answer: unknown = field.resolve(value, widest, undefined, info);
      if (!Array.isArray(answer)) {
        if (answer !== null && answer !== undefined) points += walk(s.selectionSet, of, answer);
        continue;
      }
      for (const item of answer) points += tally(1) + walk(s.selectionSet, of, item);
    }
    return points;
  };
  return ({ field, node }) => {
    if ((field !== SchemaMetaFieldDef && field !== TypeMetaFieldDef) || !node.selectionSet) return undefined;
    if (field === SchemaMetaFieldDef) return tally(1) + walk(node.selectionSet, __Schema, schema);
    const name = node.arguments?.find((a) => a.name.value === 'name')?.value;
    const answers = name?.kind === Kind.STRING ? [schema.getType(name.value)] : Object.values(schema.getTypeMap());
    let points = tally(1);
    for (const type of answers) if (type) points += walk(node.selectionSet, __Type, type);
    return points;
  };
}

/**
 * Complexity of the operation: one point per field occurrence, or the weight a field declares in its
 * `complexity` extension, with a list's selection counted once per item it may return
 * ({@link listEstimator}) and introspection as what it answers ({@link introspectionEstimator}). Every
 * fragment spread is counted where it is spread, so a small document whose fragments spread each other
 * cannot stand for a huge one. Call it on a validated document only.
 */
export function complexityOf(schema: GraphQLSchema, document: DocumentNode, variables?: Record<string, unknown>, operationName?: string | null): number {
  // Apollo and the socket path hand out one parsed document per distinct query text, so the count is
  // kept per document and operation, by the values of the variables it can depend on: the same
  // mutation sent again with another order id is not counted again.
  const operation = countedOperation(document, operationName);
  const key = countKey(operation.counted, variables);
  const known = key === null ? undefined : operation.counts.get(key);
  if (known !== undefined) return known;
  const complexity = getComplexity({
    schema,
    query: document,
    variables: variables ?? {},
    operationName: operationName ?? undefined,
    estimators: [introspectionEstimator(schema, document), fieldExtensionsEstimator(), estimatorOf(schema), simpleEstimator({ defaultComplexity: 1 })],
    maxQueryNodes: MAX_COUNTED_NODES,
  });
  if (key !== null && operation.counts.size < MAX_COUNTS_PER_OPERATION) operation.counts.set(key, complexity);
  return complexity;
}

/** Counts kept per operation: a client paging with ever other `first` values cannot grow it further. */
const MAX_COUNTS_PER_OPERATION = 64;

/**
 * One operation of a parsed document: the variables that can change its count, those of type Int (a
 * page's `first`, see {@link listEstimator}) or Boolean (`@include`/`@skip`), since an ID, a String, an
 * enum or an input object can be neither a page size nor a directive's condition; and its counts so far,
 * by {@link countKey}.
 */
interface CountedOperation {
  counted: string[];
  counts: Map<string, number>;
}

const countedOperations = new WeakMap<DocumentNode, Map<string, CountedOperation>>();

function countedOperation(document: DocumentNode, operationName?: string | null): CountedOperation {
  let byName = countedOperations.get(document);
  if (!byName) countedOperations.set(document, (byName = new Map<string, CountedOperation>()));
  let operation = byName.get(operationName ?? '');
  if (!operation) {
    const counted = (getOperationAST(document, operationName ?? undefined)?.variableDefinitions ?? [])
      .filter((v) => {
        let t = v.type;
        while (t.kind !== Kind.NAMED_TYPE) t = t.type;
        return t.name.value === 'Int' || t.name.value === 'Boolean';
      })
      .map((v) => v.variable.name.value);
    byName.set(operationName ?? '', (operation = { counted, counts: new Map() }));
  }
  return operation;
}

/**
 * The values of the counted variables as one key; null when one is not a plain value (a list given
 * for an Int is refused later, and counted afresh now). A variable left out is keyed apart from one
 * given as null: the first takes the variable's default, the second does not.
 */
function countKey(counted: readonly string[], variables: Record<string, unknown> | undefined): string | null {
  const values = counted.map((n) => (variables !== undefined && n in variables ? variables[n] : undefined));
  if (!values.every((v) => v === undefined || v === null || typeof v === 'number' || typeof v === 'boolean')) return null;
  return values.map((v) => (v === undefined ? '-' : String(v))).join(',');
}

const estimators = new WeakMap<GraphQLSchema, ComplexityEstimator>();
const estimatorOf = (schema: GraphQLSchema): ComplexityEstimator => {
  let e = estimators.get(schema);
  if (!e) estimators.set(schema, (e = listEstimator(schema)));
  return e;
};

/**
 * What is wrong with the request's variables for the operation's variable types, as Apollo answers it
 * over HTTP: BAD_USER_INPUT naming the variable (graphql-js's own errors carry no code); none without an
 * operation (nothing to coerce).
 */
export function variableErrors(schema: GraphQLSchema, operation: OperationDefinitionNode | null | undefined, variables?: Record<string, unknown> | null): GraphQLError[] {
  if (!operation) return [];
  const { errors } = getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {});
  return (errors ?? []).map((e) => new GraphQLError(e.message, { extensions: { code: ErrorCode.BAD_USER_INPUT } }));
}

/** Whether the request's variables coerce to the operation's variable types (true without an operation: nothing to coerce). */
export function variablesCoerce(schema: GraphQLSchema, operation: OperationDefinitionNode | null | undefined, variables?: Record<string, unknown> | null): boolean {
  return variableErrors(schema, operation, variables).length === 0;
}

function tooComplex(limits: OperationLimits, actual?: number): GraphQLError {
  const detail = actual === undefined ? '' : ` (this one: ${actual})`;
  return new GraphQLError(`The operation is too complex: at most ${limits.maxComplexity} allowed${detail}`, {
    extensions: { code: VALIDATION_FAILED, maxComplexity: limits.maxComplexity, ...(actual === undefined ? {} : { complexity: actual }) },
  });
}

/** The complexity check; null when the operation is within the limit. */
export function checkComplexity(
  schema: GraphQLSchema,
  limits: OperationLimits,
  document: DocumentNode,
  variables?: Record<string, unknown>,
  operationName?: string | null,
): GraphQLError | null {
  let actual: number;
  try {
    actual = complexityOf(schema, document, variables, operationName);
  } catch {
    // Variables that do not coerce are refused by execution with BAD_USER_INPUT naming the variable,
    // before any resolver runs; anything else here is a document too large to even count.
    return variablesCoerce(schema, getOperationAST(document, operationName ?? undefined), variables) ? tooComplex(limits) : null;
  }
  return actual > limits.maxComplexity ? tooComplex(limits, actual) : null;
}

/** Query texts whose parsed and validated document is kept for operations run outside Apollo's pipeline. */
const VALIDATED_DOCUMENTS = 1_000;

/**
 * Parses and validates documents with the standard rules and the limits that do not depend on
 * variables (depth, aliases), and without introspection when it is off (`introspection: false`: what
 * Apollo refuses over HTTP is refused on every path), keeping each valid document by its query text:
 * clients of one app send the same few operations, so thousands of subscriptions share one parsed
 * document instead of each holding its own.
 */
export class DocumentCache {
  private readonly documents = new LRUCache<string, DocumentNode>({ max: VALIDATED_DOCUMENTS });
  /** The rules run once the spec's own accept a document. */
  private readonly rules: ValidationRule[];
  constructor(
    private readonly schema: GraphQLSchema,
    private readonly limits: OperationLimits,
    opts: { introspection?: boolean } = {},
  ) {
    this.rules = [...limitRules(limits), ...(opts.introspection === false ? [NoSchemaIntrospectionCustomRule] : [])];
  }

  /** The validated document of `query`, or the errors that refuse it (Apollo's codes). */
  document(query: string | DocumentNode): { document: DocumentNode; errors?: undefined } | { document?: undefined; errors: GraphQLError[] } {
    const known = typeof query === 'string' ? this.documents.get(query) : undefined;
    if (known) return { document: known };
    let document: DocumentNode;
    try {
      document = typeof query === 'string' ? parse(query) : query;
    } catch (e) {
      const message = e instanceof GraphQLError ? e.message : 'Syntax error';
      return { errors: [new GraphQLError(message, { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })] };
    }
    // The limits are measured on a document the spec's rules accept: unknown fragments and fragment
    // cycles are answered with the spec's own messages, never reach a limit's walk.
    let ruleErrors = validate(this.schema, document, specifiedRules);
    if (!ruleErrors.length) ruleErrors = validate(this.schema, document, this.rules);
    if (ruleErrors.length) {
      return { errors: ruleErrors.map((e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: VALIDATION_FAILED } })) };
    }
    if (typeof query === 'string') this.documents.set(query, document);
    return { document };
  }

  /**
   * The document of an operation that passes every limit, complexity included (it depends on the
   * variables), for operations run without Apollo's request pipeline (graphql-ws, and HTTP requests
   * answered directly: see direct-operations.ts).
   */
  prepare(
    query: string | DocumentNode,
    variables?: Record<string, unknown> | null,
    operationName?: string | null,
  ): { document: DocumentNode; errors?: undefined } | { document?: undefined; errors: GraphQLError[] } {
    const parsed = this.document(query);
    if (parsed.errors) return parsed;
    const unstorable = unstorableTextError(parsed.document, variables, operationName);
    if (unstorable) return { errors: [unstorable] };
    const complex = checkComplexity(this.schema, this.limits, parsed.document, variables ?? undefined, operationName);
    return complex ? { errors: [complex] } : parsed;
  }
}

/** Per-caller allowance of mutations (MUTATION_RATE_LIMIT per RATE_LIMIT_WINDOW_SECONDS), in Redis when configured. */
export class MutationLimiter {
  private readonly limiter: RateLimiter;
  constructor(config: Config, onError?: (e: Error) => void) {
    this.limiter = new RateLimiter({
      keyPrefix: 'rl:mutation',
      points: config.mutationRateLimit,
      windowSeconds: config.rateLimitWindowSeconds,
      redisUrl: config.redisUrl,
      onError,
    });
  }

  /**
   * Counts an operation's `mutations` mutations of `caller` (a customer id, or `ip:<address>` when
   * anonymous) together; throws RATE_LIMITED when they do not all fit in what is left of the allowance,
   * and then counts none of them: an operation refused whole spends nothing.
   */
  consume(caller: string, mutations: number): Promise<void> {
    return this.limiter.consume(caller, mutations);
  }

  close(): Promise<void> {
    return this.limiter.close();
  }
}

/** The key a caller's mutations are counted under. */
export const callerKey = (customerId: string | undefined, ip: string | undefined): string => (customerId ? `sub:${customerId}` : `ip:${ip ?? 'unknown'}`);

/**
 * The mutations an operation runs, as the rate limit counts them: each root field of a mutation
 * operation (one document may hold up to MAX_ALIASES of them, each a mutation of its own, fragments
 * included), at least one; none for a query.
 */
export function mutationsIn(document: DocumentNode, operation: OperationDefinitionNode | null | undefined): number {
  if (operation?.operation !== OperationTypeNode.MUTATION) return 0;
  const fragments = fragmentsOf(document);
  const count = (set: SelectionSetNode, within: ReadonlySet<string>): number =>
    set.selections.reduce((n, s) => {
      if (s.kind === Kind.FIELD) return n + (s.name.value === '__typename' ? 0 : 1);
      if (s.kind === Kind.INLINE_FRAGMENT) return n + count(s.selectionSet, within);
      const f = fragments.get(s.name.value);
      return f && !within.has(f.name.value) ? n + count(f.selectionSet, new Set([...within, f.name.value])) : n;
    }, 0);
  return Math.max(1, count(operation.selectionSet, new Set()));
}

/** {@link mutationsIn} for the operation `operationName` picks from `document`. */
export const mutationsOf = (document: DocumentNode, operationName?: string | null): number => mutationsIn(document, getOperationAST(document, operationName ?? undefined));

/** Apollo's HTTP head for an error (status and a HeaderMap); typed loosely as other packages augment `extensions.http`. */
const httpHead = (status: number, headers: Array<[string, string]> = []) => ({ status, headers: new HeaderMap(headers) }) as never;

/** A refused mutation's error with the HTTP head it is answered with: 429 and Retry-After. */
export function asRateLimited(e: RateLimitedError): RateLimitedError {
  const after = e.extensions.retryAfterSeconds;
  e.extensions.http = httpHead(429, [['retry-after', String(typeof after === 'number' ? after : 1)]]);
  return e;
}

/**
 * Apollo plugin enforcing the limits that need the resolved operation: no subscription over HTTP
 * (BAD_REQUEST: graphql-js would run its fields once without an event, and fail inside them), text the
 * database cannot store ({@link unstorableTextError}), complexity (variables known) and the per-caller
 * mutation rate. Depth and aliases run as validation rules ({@link limitRules}).
 */
export function limitsPlugin(opts: { schema: GraphQLSchema; limits: OperationLimits; mutations: MutationLimiter; ip: (ctx: Context) => string | undefined }): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, request, operationName, contextValue, operation }) {
          if (operation?.operation === OperationTypeNode.SUBSCRIPTION) {
            throw new GraphQLError('Subscriptions are served over WebSocket (graphql-ws) on this path, not over HTTP', {
              extensions: { code: 'BAD_REQUEST', http: httpHead(400) },
            });
          }
          const unstorable = unstorableTextError(document, request.variables, operationName);
          if (unstorable) {
            unstorable.extensions.http = httpHead(400);
            throw unstorable;
          }
          const complex = checkComplexity(opts.schema, opts.limits, document, request.variables, operationName);
          if (complex) {
            complex.extensions.http = httpHead(400);
            throw complex;
          }
          const mutations = mutationsIn(document, operation);
          if (mutations > 0) {
            try {
              await opts.mutations.consume(callerKey(contextValue.principal?.sub, opts.ip(contextValue)), mutations);
            } catch (e) {
              throw e instanceof RateLimitedError ? asRateLimited(e) : e;
            }
          }
        },
      };
    },
  };
}

