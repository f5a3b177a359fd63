import { buildSchema, execute, GraphQLError, GraphQLScalarType, Kind, parse, type ExecutionResult, type GraphQLObjectType, type GraphQLSchema } from 'graphql';
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
