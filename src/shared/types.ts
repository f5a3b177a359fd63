import { Field, Int, ObjectType, type ClassType } from 'type-graphql';

/** An amount in minor units with its currency. */
@ObjectType()
export class Money {
  @Field(() => Int, { description: "Integer amount in the currency's minor unit (e.g. cents)." })
  amount: number;

  @Field(() => String, { description: 'ISO 4217 code, e.g. USD.' })
  currency: string;

  constructor(amount: number, currency: string) {
    this.amount = amount;
    this.currency = currency;
  }
}

/** Where a page of a connection ends, and whether another follows it. */
@ObjectType()
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage: boolean;

  @Field(() => String, { nullable: true })
  endCursor: string | null;

  constructor(hasNextPage: boolean, endCursor: string | null) {
    this.hasNextPage = hasNextPage;
    this.endCursor = endCursor;
  }
}

/** One row of a connection: its node and the cursor a client passes as `after` to read on from it. */
export interface Edge<TNode> {
  cursor: string;
  node: TNode;
}

/** One page of a connection, as a service answers it and the connection type resolves it. */
export interface Page<TNode> {
  edges: Array<Edge<TNode>>;
  pageInfo: PageInfo;
}

/**
 * The page of a keyset query that read `first + 1` rows: the first `first` as edges, and a next page
 * exactly when the extra row came back, so no count is needed. The end cursor is the last edge's.
 */
export function pageOf<TRow, TNode>(rows: readonly TRow[], first: number, edge: (row: TRow) => Edge<TNode>): Page<TNode> {
  const edges = rows.slice(0, first).map(edge);
  return { edges, pageInfo: new PageInfo(rows.length > first, edges.at(-1)?.cursor ?? null) };
}

/**
 * The base of a connection type, keyset-paged lists' one shape: `edges { cursor node }` and `pageInfo`.
 * It registers `<name>Edge` with a `node` of type `node`; the module names the connection itself, so
 * every list keeps its GraphQL type names:
 *
 *     @ObjectType('CouponConnection')
 *     export class CouponConnection extends Connection('Coupon', CouponType) {}
 */
export function Connection<TNode extends object>(name: string, node: ClassType<TNode>) {
  @ObjectType(`${name}Edge`)
  class EdgeType implements Edge<TNode> {
    @Field(() => String)
    cursor: string;

    @Field(() => node)
    node: TNode;
  }

  // Registered so the subclass inherits its fields; never emitted itself, as nothing returns it.
  @ObjectType()
  abstract class ConnectionType {
    @Field(() => [EdgeType])
    edges: Array<Edge<TNode>>;

    @Field(() => PageInfo)
    pageInfo: PageInfo;
  }
  return ConnectionType;
}
