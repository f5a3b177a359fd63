import type { GatewayInterface } from '@apollo/server-gateway-interface';
import { createSourceEventStream, execute, GraphQLError, type DocumentNode, type ExecutionArgs, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { mapAsyncIterator } from 'graphql/execution/mapAsyncIterator';
import { isAsyncIterable } from 'graphql/jsutils/isAsyncIterable';
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
  /** The root value: a subscription's event, when one is executed (none for queries and mutations). */
  rootValue?: unknown;
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
 *   field's arguments, so a subscription's event stream is made by graphql-js; each event it yields is
 *   then executed as a query is, with the event as the root value ({@link CompiledExecution.subscribe}).
 */
export class CompiledExecution {
  /** Per document and operation name: its compiled code, `null` if it does not compile, `SEEN` after one run. */
  private readonly compiled = new WeakMap<DocumentNode, Map<string, CompiledQuery | null | typeof SEEN>>();

  constructor(private readonly schema: GraphQLSchema) {}

  /** Runs a query or mutation, or one event of a subscription (its `rootValue`). */
  execute(run: OperationRun): PromiseOrValue<ExecutionResult> {
    const compiled = this.compile(run.document, run.operationName ?? undefined);
    if (!compiled) return this.interpret(run);
    const result = compiled.query(run.rootValue, run.context, run.variables ?? {});
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
    return execute(this.argsOf(run));
  }

  /** graphql-js's arguments for `run`. */
  private argsOf(run: OperationRun): ExecutionArgs {
    return {
      schema: this.schema,
      document: run.document,
      operationName: run.operationName,
      variableValues: run.variables,
      contextValue: run.context,
      rootValue: run.rootValue,
    };
  }

  /**
   * Runs a subscription as graphql-js's `subscribe` does, but for the execution of its events: the
   * event stream is graphql-js's (the subscription field's `subscribe` gets the field's own arguments;
   * refused variables and a refused subscription come back as an errors-only result), and each event
   * is executed by {@link execute}, compiled once the document has run twice. graphql-js executes every
   * event by walking the document again, coercing the variables and the field's arguments anew: about
   * five times the CPU of the compiled code, for every event and every subscriber. The events are mapped
   * to results by graphql-js's own mapping (its `subscribe` uses it; internal to graphql 16, which the
   * project pins), so closing the results, or an event that fails, closes the stream as before.
   */
  async subscribe(run: OperationRun): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
    const stream = await createSourceEventStream(this.argsOf(run));
    if (!isAsyncIterable(stream)) return stream;
    return mapAsyncIterator(stream, (event) => this.execute({ ...run, rootValue: event }));
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
