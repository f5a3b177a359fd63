import { buildSchema, execute, GraphQLError, GraphQLScalarType, Kind, parse, subscribe, type ExecutionResult, type GraphQLObjectType, type GraphQLSchema } from 'graphql';
import { CompiledExecution } from '../../src/http/compiled-execution';

/**
 * Compiled execution answers exactly as graphql-js does: the same data, and the same errors with the
 * same message, path and `extensions.code`, for what a client can send. Both run the same document
 * against the same resolvers; each case runs three times: a document is compiled at its second run,
 * and the third reuses that code.
 */
function schemaWith(calls: string[]): GraphQLSchema {
  const schema = buildSchema(`
    scalar DateTime
    enum Status { PENDING PAID }
    interface Node { id: ID! }
    type Money { amount: Int! currency: String! }
    type Order implements Node { id: ID! status: Status! total: Money! placedAt: DateTime! note: String secret: String! }
    type Plan implements Node { id: ID! name: String! }
    union Thing = Order | Plan
    type Query {
      orders(first: Int! = 2): [Order!]!
      order(id: ID!): Order
      node(id: ID!): Node
      things: [Thing!]!
      strict: Order!
    }
    type Mutation { cancel(id: ID!, reason: String): Order! }
  `);
  const date = new GraphQLScalarType({
    name: 'DateTime',
    serialize: (v) => (v as Date).toISOString(),
    parseValue: (v) => new Date(String(v)),
    parseLiteral: (ast) => (ast.kind === Kind.STRING ? new Date(ast.value) : null),
  });
  Object.assign(schema.getType('DateTime')!, { serialize: date.serialize, parseValue: date.parseValue, parseLiteral: date.parseLiteral });
  const order = (id: string) => ({
    __typename: 'Order',
    id,
    status: id === 'o1' ? 'PENDING' : 'PAID',
    placedAt: new Date(Date.UTC(2026, 11, 3, 6, 50)),
    note: null,
  });
  const orderFields = (schema.getType('Order') as GraphQLObjectType).getFields();
  orderFields.total.resolve = async () => ({ amount: 12_900, currency: 'EUR' });
  orderFields.secret.resolve = () => {
    throw new GraphQLError('Not yours', { extensions: { code: 'FORBIDDEN' } });
  };
  const query = schema.getQueryType()!.getFields();
  query.orders.resolve = (_r, a: { first: number }) => Array.from({ length: a.first }, (_, i) => order(`o${i + 1}`));
  query.order.resolve = async (_r, a: { id: string }) => (a.id === 'missing' ? null : order(a.id));
  query.node.resolve = (_r, a: { id: string }) => (a.id.startsWith('p') ? { __typename: 'Plan', id: a.id, name: 'Pro' } : order(a.id));
  query.things.resolve = () => [order('o1'), { __typename: 'Plan', id: 'p1', name: 'Pro' }];
  query.strict.resolve = () => {
    throw new Error('database unreachable');
  };
  schema.getMutationType()!.getFields().cancel.resolve = (_r, a: { id: string; reason?: string }) => {
    calls.push(`cancel ${a.id} ${a.reason ?? '-'}`);
    return order(a.id);
  };
  return schema;
}

/** A result as a client reads it: data, and each error as it is sent. */
const seen = (r: ExecutionResult) => JSON.parse(JSON.stringify({ data: r.data, errors: r.errors?.map((e) => e.toJSON()) }));

const cases: Array<{ name: string; query: string; variables?: Record<string, unknown>; operationName?: string }> = [
  { name: 'a list with a default argument, an async field and a custom scalar', query: '{ orders { id status total { amount currency } placedAt note } }' },
  { name: 'aliases, fragments, variables and @skip/@include', query: 'query Q($n: Int!, $s: Boolean!) { a: orders(first: $n) { ...F } b: orders(first: 1) @include(if: $s) { id } } fragment F on Order { id total { amount } }', variables: { n: 3, s: false } },
  { name: 'an error in a nullable field: the field is null, the error has its path and code', query: '{ order(id: "o2") { id secret } }' },
  { name: 'an error in a non-null field bubbles to the nearest nullable parent', query: '{ orders(first: 2) { id secret } }' },
  { name: 'an unexpected error in a non-null root field: data is null', query: '{ strict { id } }' },
  { name: 'a missing object is null', query: '{ order(id: "missing") { id } }' },
  { name: 'interfaces and unions with __typename', query: '{ node(id: "p1") { __typename id ... on Plan { name } } things { __typename ... on Order { id status } ... on Plan { name } } }' },
  { name: 'a mutation with a null optional argument', query: 'mutation M($id: ID!, $r: String) { cancel(id: $id, reason: $r) { id status } }', variables: { id: 'o3', r: null } },
  { name: 'a variable of the wrong type is refused before anything runs', query: 'mutation M($id: ID!) { cancel(id: $id) { id } }', variables: { id: { nested: true } } },
  { name: 'a missing required variable is refused', query: 'query Q($n: Int!) { orders(first: $n) { id } }', variables: {} },
  { name: 'an operation name the document lacks', query: 'query A { orders { id } }', operationName: 'B' },
  { name: 'two operations and no operation name', query: 'query A { orders { id } } query B { orders { status } }' },
];

test.each(cases)('$name: the same answer as graphql-js', async ({ query, variables, operationName }) => {
  const interpretedCalls: string[] = [];
  const compiledCalls: string[] = [];
  const document = parse(query);
  const expected = seen(await execute({ schema: schemaWith(interpretedCalls), document, variableValues: variables, operationName }));
  const execution = new CompiledExecution(schemaWith(compiledCalls));
  for (let run = 0; run < 3; run++) {
    expect(seen(await execution.execute({ document, variables, operationName, context: {} }))).toEqual(expected);
  }
  // The mutation ran once per run, or never when its variables were refused: as with graphql-js.
  expect(compiledCalls).toEqual([...interpretedCalls, ...interpretedCalls, ...interpretedCalls]);
});

test('the cases answer what a client expects, so the comparison is not between two wrong answers', async () => {
  const execution = new CompiledExecution(schemaWith([]));
  // Each document twice: the answer checked is compiled code's.
  const run = async (query: string, variables?: Record<string, unknown>) => {
    const document = parse(query);
    await execution.execute({ document, variables, context: {} });
    return execution.execute({ document, variables, context: {} });
  };
  expect(seen(await run('{ orders { id total { amount } placedAt } }'))).toEqual({
    data: {
      orders: [
        { id: 'o1', total: { amount: 12_900 }, placedAt: '2026-12-03T06:50:00.000Z' },
        { id: 'o2', total: { amount: 12_900 }, placedAt: '2026-12-03T06:50:00.000Z' },
      ],
    },
  });
  const denied = seen(await run('{ order(id: "o2") { id secret } }'));
  expect(denied).toEqual({ data: { order: null }, errors: [expect.objectContaining({ message: 'Not yours', path: ['order', 'secret'], extensions: { code: 'FORBIDDEN' } })] });
  const refused = seen(await run('query Q($n: Int!) { orders(first: $n) { id } }', { n: 'two' }));
  expect(refused.data).toBeUndefined();
  expect(refused.errors).toEqual([expect.objectContaining({ message: expect.stringContaining('Variable "$n" got invalid value "two"') })]);
});

test('an unexpected error has an extensions object, its original error and its locations on every run, as from graphql-js', async () => {
  const document = parse('{ strict { id } }');
  const [expected] = (await execute({ schema: schemaWith([]), document })).errors!;
  const execution = new CompiledExecution(schemaWith([]));
  for (let run = 0; run < 3; run++) {
    const [error] = (await execution.execute({ document, context: {} })).errors!;
    // Apollo reads extensions.code before the app's formatError shapes (and masks) the error.
    expect(error.extensions).toEqual({});
    expect(error.originalError?.message).toBe('database unreachable');
    expect([error.locations, error.path]).toEqual([expected.locations, expected.path]);
  }
});

test('a document runs through graphql-js once, then as compiled code, which reads properties without calling them', async () => {
  const schema = buildSchema('type Thing { name: String } type Query { thing: Thing }');
  schema.getQueryType()!.getFields().thing.resolve = () => ({ name: () => 'called' });
  const execution = new CompiledExecution(schema);
  const document = parse('{ thing { name } }');
  expect(seen(await execution.execute({ document, context: {} }))).toEqual({ data: { thing: { name: 'called' } } });
  const compiled = seen(await execution.execute({ document, context: {} }));
  expect(compiled.data).toEqual({ thing: { name: null } });
  expect(compiled.errors).toEqual([expect.objectContaining({ path: ['thing', 'name'] })]);
});

describe('subscriptions', () => {
  /** Orders that change three times from version `from`; `theirs` may not be watched. Opening and closing are logged. */
  function subscriptionSchema(log: string[]): GraphQLSchema {
    const schema = buildSchema(`
      type Order { id: ID! status: String! secret: String }
      type Query { unused: Int }
      type Subscription { watched(id: ID!, from: Int = 1): Order }
    `);
    const field = schema.getSubscriptionType()!.getFields().watched;
    field.subscribe = (_root, a: { id: string; from: number }) => {
      log.push(`subscribe ${a.id} from ${a.from}`);
      if (a.id === 'theirs') throw new GraphQLError('You may not watch this order', { extensions: { code: 'FORBIDDEN' } });
      let version = a.from;
      return {
        [Symbol.asyncIterator]() {
          return this;
        },
        next: () => Promise.resolve(version >= a.from + 3 ? { done: true, value: undefined } : { done: false, value: { id: a.id, status: `v${version++}` } }),
        return: () => {
          log.push(`closed ${a.id}`);
          return Promise.resolve({ done: true, value: undefined });
        },
      };
    };
    field.resolve = (order: unknown) => order;
    (schema.getType('Order') as GraphQLObjectType).getFields().secret.resolve = () => {
      throw new GraphQLError('Not yours', { extensions: { code: 'FORBIDDEN' } });
    };
    return schema;
  }

  /** Every result a subscription gives, as a client reads them (or its one errors-only answer). */
  async function results(stream: AsyncIterable<ExecutionResult> | ExecutionResult): Promise<unknown[]> {
    if (!(Symbol.asyncIterator in stream)) return [seen(stream)];
    const all: unknown[] = [];
    for await (const r of stream) all.push(seen(r));
    return all;
  }

  const watch = 'subscription S($id: ID!) { watched(id: $id, from: 5) { id status secret } }';
  const subscriptions: Array<{ name: string; query: string; variables: Record<string, unknown> }> = [
    { name: "each event, with a field's error, and the field's own arguments given to its subscribe", query: watch, variables: { id: 'o1' } },
    { name: 'a default argument', query: 'subscription S($id: ID!) { watched(id: $id) { id status } }', variables: { id: 'o1' } },
    { name: 'a subscription its subscribe refuses', query: watch, variables: { id: 'theirs' } },
    { name: 'a variable of the wrong type', query: watch, variables: { id: { nested: true } } },
  ];

  test.each(subscriptions)('$name: the same results as graphql-js', async ({ query, variables }) => {
    const interpretedLog: string[] = [];
    const compiledLog: string[] = [];
    const document = parse(query);
    const expected = await results(await subscribe({ schema: subscriptionSchema(interpretedLog), document, variableValues: variables }));
    const execution = new CompiledExecution(subscriptionSchema(compiledLog));
    // Twice: the first subscription's first event runs through graphql-js, every later one as compiled code.
    for (let run = 0; run < 2; run++) expect(await results(await execution.subscribe({ document, variables, context: {} }))).toEqual(expected);
    expect(compiledLog).toEqual([...interpretedLog, ...interpretedLog]);
  });

  test('the events are what the subscriber expects, so the comparison is not between two wrong answers', async () => {
    const execution = new CompiledExecution(subscriptionSchema([]));
    const events = await results(await execution.subscribe({ document: parse(watch), variables: { id: 'o1' }, context: {} }));
    expect(events).toEqual(
      ['v5', 'v6', 'v7'].map((status) => ({
        data: { watched: { id: 'o1', status, secret: null } },
        errors: [expect.objectContaining({ message: 'Not yours', path: ['watched', 'secret'], extensions: { code: 'FORBIDDEN' } })],
      })),
    );
    const refused = await results(await execution.subscribe({ document: parse(watch), variables: { id: 'theirs' }, context: {} }));
    expect(refused).toEqual([{ errors: [expect.objectContaining({ message: 'You may not watch this order', extensions: { code: 'FORBIDDEN' } })] }]);
  });

  test("closing a subscription's results closes its event stream", async () => {
    const log: string[] = [];
    const execution = new CompiledExecution(subscriptionSchema(log));
    const stream = (await execution.subscribe({ document: parse(watch), variables: { id: 'o1' }, context: {} })) as AsyncIterableIterator<ExecutionResult>;
    expect((await stream.next()).value?.data).toEqual({ watched: { id: 'o1', status: 'v5', secret: null } });
    expect(await stream.return!()).toEqual({ value: undefined, done: true });
    expect(log).toEqual(['subscribe o1 from 5', 'closed o1']);
  });
});
