import type { GatewayInterface } from '@apollo/server-gateway-interface';
import { execute, GraphQLError, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';
import type { PromiseOrValue } from 'graphql/jsutils/PromiseOrValue';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';

/** Marks a document run once and not compiled yet. */
const SEEN = Symbol('seen once');

/** What an operation is executed with; the same for HTTP and WebSocket. */
export interface OperationRun {
  document: DocumentNode;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
  context: unknown;
}

/**
 * Queries and mutations executed by code compiled once per document (graphql-jit) instead of
 * graphql-js walking the document for every field of every answer: a page of 20 orders is a few
 * hundred field resolutions, and the walk cost more CPU than the database did.
 *
 * Compiled code is kept per parsed document: Apollo and the WebSocket server each keep parsed
 * documents in a bounded cache, so a document that drops out of theirs drops out of this one. A
 * document is compiled when it runs a second time: compiling costs more than running once, so a
 * document sent once (a one-off, or a stream of distinct documents meant to burn CPU) never pays it.
 * Answers that compiled code cannot give exactly as graphql-js would are left to graphql-js:
 * refused variables (Apollo turns graphql-js's wording of them into `BAD_USER_INPUT` with status
 * 400) and documents graphql-jit does not compile.
 *
 * Two differences from graphql-js decide what stays with it:
 * - A field without a resolver reads its parent's property and never calls it: objects handed to the
 *   schema carry values (or the field has a resolver), not methods.
 * - graphql-jit hands a subscription field's `subscribe` the operation's variables instead of the
 *   field's arguments, so subscriptions stay with graphql-js (graphql-ws's own `subscribe`).
 */
export class CompiledExecution {
  /** Per document and operation name: its compiled code, `null` if it does not compile, `SEEN` after one run. */
  private readonly compiled = new WeakMap<DocumentNode, Map<string, CompiledQuery | null | typeof SEEN>>();

  constructor(private readonly schema: GraphQLSchema) {}

  /** Runs a query or mutation (subscriptions stay with graphql-ws's own `subscribe`). */
  execute(run: OperationRun): PromiseOrValue<ExecutionResult> {
    const compiled = this.compile(run.document, run.operationName ?? undefined);
    if (!compiled) return this.interpret(run);
    const result = compiled.query(undefined, run.context, run.variables ?? {});
    return isPromise(result) ? result.then((r) => this.settle(r, run)) : this.settle(result, run);
  }

  /**
   * A result without `data` means no field ran (the variables were refused, before any resolver):
   * graphql-js answers again so the errors read, and are classified, as everywhere else.
   */
  private settle(result: ExecutionResult, run: OperationRun): PromiseOrValue<ExecutionResult> {
    return 'data' in result && result.data !== undefined ? withExtensions(result) : this.interpret(run);
  }

  private interpret(run: OperationRun): PromiseOrValue<ExecutionResult> {
    return execute({
      schema: this.schema,
      document: run.document,
      operationName: run.operationName,
      variableValues: run.variables,
      contextValue: run.context,
    });
  }

  /** The compiled code to run `document` with, or null to interpret it this time. */
  private compile(document: DocumentNode, operationName: string | undefined): CompiledQuery | null {
    let byName = this.compiled.get(document);
    if (!byName) this.compiled.set(document, (byName = new Map<string, CompiledQuery | null | typeof SEEN>()));
    const key = operationName ?? '';
    const known = byName.get(key);
    if (known === undefined) {
      byName.set(key, SEEN);
      return null;
    }
    if (known !== SEEN) return known;
    const made = compileQuery(this.schema, document, operationName, { disablingCapturingStackErrors: true });
    const compiled = isCompiledQuery(made) ? made : null;
    byName.set(key, compiled);
    return compiled;
  }
}

/**
 * Apollo Server's way to execute operations with something other than graphql-js: a gateway that
 * serves one fixed schema. Parsing, validation, plugins, error formatting and HTTP stay Apollo's.
 */
export function compiledExecutionGateway(schema: GraphQLSchema, execution: CompiledExecution): GatewayInterface {
  return {
    async load() {
      return {
        schema,
        executor: (request) =>
          Promise.resolve(
            execution.execute({
              document: request.document,
              // As the client sent it: Apollo's own `operationName` is unset when none matched.
              operationName: request.request.operationName,
              variables: request.request.variables,
              context: request.context,
            }),
          ),
      };
    },
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: '' });
      return () => {};
    },
    async stop() {},
  };
}

/**
 * graphql-jit leaves an error's `extensions` undefined where its original error has none (a plain
 * Error thrown by a resolver, a null in a non-null field); graphql-js always gives an object. Apollo's
 * error shaping reads `extensions.code` unguarded and, failing, answers a bare masked error without
 * the app's `formatError`, so the same operation's error read differently on its first (interpreted)
 * run and later ones. Such errors are given again as graphql-js would give them.
 */
function withExtensions(result: ExecutionResult): ExecutionResult {
  if (!result.errors?.some((e) => e.extensions === undefined)) return result;
  return {
    ...result,
    errors: result.errors.map((e) => {
      if (e.extensions !== undefined) return e;
      const error = new GraphQLError(e.message, { path: e.path, originalError: e.originalError ?? undefined, extensions: {} });
      // graphql-js finds locations from the document's nodes, which graphql-jit's errors do not keep.
      return Object.assign(error, { locations: e.locations });
    }),
  };
}

function isPromise<T>(value: PromiseOrValue<T>): value is Promise<T> {
  return typeof (value as Promise<T>)?.then === 'function';
}
