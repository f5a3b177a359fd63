import { randomUUID } from 'node:crypto';
import { codeOf, token, type GqlResult, type TestServer } from '../support/server';

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

/** base64url of a text, to forge cursors. */
export const b64 = (t: string): string => Buffer.from(t).toString('base64url');

/** Cursors no list ever returns: not base64url, not `<micros>:<key>`, past bigint, too long, empty. */
export const MALFORMED_CURSORS = [
  'garbage!',
  b64('abc'),
  b64('123:not-a-uuid'),
  b64('99999999999999999999:00000000-0000-4000-8000-000000000000'),
  'A'.repeat(10_000),
  '',
];

/** Runs `check` until it returns a truthy value; throws naming `what` after `timeoutMs`. */
export async function until<T>(what: string, check: () => Promise<T | null | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export { codeOf, token, type TestServer };
