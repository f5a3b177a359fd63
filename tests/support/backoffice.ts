import { randomUUID } from 'node:crypto';
import { encodeCursor } from '../../src/shared/cursor';
import { codeOf, token, type GqlResult, type TestServer } from './server';

/** An admin token of the back-office tests. */
export const adminToken = (): Promise<string> => token(`admin-${randomUUID()}`, 'admin');

/** The data of an answer, failing the test with the errors when there are any. */
export function ok<T>(r: GqlResult<T>): T {
  if (r.errors || !r.data) throw new Error(`unexpected errors: ${JSON.stringify(r.errors ?? r)}`);
  return r.data;
}

/** Asserts the first error's code (saying what came instead) and returns its extensions. */
export function expectCode(r: GqlResult, code: string): Record<string, any> {
  if (codeOf(r) !== code) throw new Error(`expected ${code}, got ${JSON.stringify(r.errors ?? r.data)}`);
  return r.errors![0].extensions!;
}

interface Page<N> {
  edges: Array<{ cursor: string; node: N }>;
  pageInfo: { hasNextPage: boolean; endCursor?: string | null };
}

/**
 * Reads a whole list page by page (`first` rows each), calling `between` after every page (to add rows
 * while paging), and returns the nodes in order. Fails when a page's end cursor is not its last edge's.
 */
export async function readAll<N>(
  fetchPage: (after: string | null) => Promise<Page<N>>,
  between: (pageNumber: number) => Promise<void> = async () => undefined,
  maxPages = 200,
): Promise<N[]> {
  const nodes: N[] = [];
  let after: string | null = null;
  for (let i = 0; i < maxPages; i++) {
    const page: Page<N> = await fetchPage(after);
    nodes.push(...page.edges.map((e) => e.node));
    if (page.edges.length) expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)!.cursor);
    if (!page.pageInfo.hasNextPage) return nodes;
    after = page.pageInfo.endCursor!;
    await between(i);
  }
  throw new Error(`still a next page after ${maxPages} pages`);
}

/**
 * Cursors no list ever returns: not base64url, a sort key that is no number, an id that is no UUID, a
 * sort key past bigint, too long, empty. Forged with the one cursor codec, so they stay malformed in
 * one part only whatever its format becomes.
 */
export const MALFORMED_CURSORS = [
  'garbage!',
  encodeCursor({ micros: 'abc', id: '00000000-0000-4000-8000-000000000000' }),
  encodeCursor({ micros: '123', id: 'not-a-uuid' }),
  encodeCursor({ micros: '99999999999999999999', id: '00000000-0000-4000-8000-000000000000' }),
  'A'.repeat(10_000),
  '',
];

export { codeOf, token, type TestServer };
