import { Kind, type FieldNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

/** The fields of `set` (inline fragments and fragment spreads opened), named as in the schema. */
function fieldsOf(set: SelectionSetNode | undefined, info: GraphQLResolveInfo, into: FieldNode[] = [], seen = new Set<string>()): FieldNode[] {
  for (const s of set?.selections ?? []) {
    if (s.kind === Kind.FIELD) into.push(s);
    else if (s.kind === Kind.INLINE_FRAGMENT) fieldsOf(s.selectionSet, info, into, seen);
    else if (!seen.has(s.name.value)) {
      seen.add(s.name.value);
      fieldsOf(info.fragments[s.name.value]?.selectionSet, info, into, seen);
    }
  }
  return into;
}

/** What {@link nodeFieldsOf} found, by the field's first node: the same document asks the same. */
const found = new WeakMap<FieldNode, ReadonlySet<string>>();

/**
 * The fields a connection field's query may select on its nodes (`edges { node { ... } }`), through
 * aliases and fragments, so a list reads from the database only what they need. `@skip` and
 * `@include` are not weighed: a field they leave out is counted all the same (read, not answered), so
 * the answer depends on the document alone and is worked out once per document.
 */
export function nodeFieldsOf(info: GraphQLResolveInfo): ReadonlySet<string> {
  const first = info.fieldNodes[0];
  let fields = found.get(first);
  if (!fields) {
    const edges = info.fieldNodes.flatMap((f) => fieldsOf(f.selectionSet, info)).filter((f) => f.name.value === 'edges');
    const nodes = edges.flatMap((e) => fieldsOf(e.selectionSet, info)).filter((f) => f.name.value === 'node');
    fields = new Set(nodes.flatMap((n) => fieldsOf(n.selectionSet, info)).map((f) => f.name.value));
    found.set(first, fields);
  }
  return fields;
}
