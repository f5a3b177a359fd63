import 'reflect-metadata';
import { Kind, parse, type FieldNode, type FragmentDefinitionNode, type GraphQLObjectType, type GraphQLResolveInfo, type OperationDefinitionNode } from 'graphql';
import { FIELD_COLUMNS, pageSelection, WHOLE_ROWS } from '../../src/modules/order/order-page';
import { createSchema } from '../../src/schema';
import { nodeFieldsOf } from '../../src/shared/connection-fields';

/** The resolve info of the first field of `document`'s operation, as much of it as nodeFieldsOf reads. */
function infoOf(document: string): GraphQLResolveInfo {
  const doc = parse(document);
  const operation = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  const fragments = Object.fromEntries(doc.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]));
  return { fieldNodes: [operation.selectionSet.selections[0] as FieldNode], fragments } as unknown as GraphQLResolveInfo;
}

test('every field of Order says which columns of a page row it reads', async () => {
  const order = (await createSchema()).getType('Order') as GraphQLObjectType;
  expect(Object.keys(order.getFields()).filter((f) => !(f in FIELD_COLUMNS))).toEqual([]);
});

test("a connection's node fields are read through aliases, fragments and skipped fields alike", () => {
  const info = infoOf(`query($no: Boolean!) {
    myOrders(first: 5) {
      pageInfo { endCursor }
      edges { cursor node { id amount: total { amount } ...More ... on Order { status } } }
      again: edges { node { plan { id } paidAt @skip(if: $no) } }
    }
  }
  fragment More on Order { number ...Deeper }
  fragment Deeper on Order { version }`);
  expect([...nodeFieldsOf(info)].sort()).toEqual(['id', 'number', 'paidAt', 'plan', 'status', 'total', 'version']);
});

test('a page reads the columns its fields need and the cursor; a field it does not know, whole rows', () => {
  const narrow = pageSelection(['id', 'total', 'plan']);
  expect(narrow.key).toBe('id,created_at_micros,plan_id,currency,total');
  expect(narrow.joins).toBe('');
  expect(pageSelection(['delivery']).joins).toMatch(/^left join delivery d/);
  expect(pageSelection(['id', 'notYetKnown'])).toBe(WHOLE_ROWS);
  expect(pageSelection(null)).toBe(WHOLE_ROWS);
  expect(WHOLE_ROWS.joins).toMatch(/left join delivery d .*\n.*left join plan p/s);
});
