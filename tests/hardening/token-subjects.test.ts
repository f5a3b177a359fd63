import { createHmac, randomUUID } from 'node:crypto';
import { MeDocument } from '../__generated__/graphql';
import { codeOf, startTestServer, TEST_SECRET, token, type GqlResult, type TestServer } from '../support/server';

/**
 * A token's subject is the customer id, "any string up to 64 characters": counted as PostgreSQL counts
 * them (characters, not UTF-16 units), and one subject is always one customer. What PostgreSQL cannot
 * store as it is (U+0000, half of a surrogate pair) is a token refused, not an internal error or
 * two subjects merged into one row.
 */
let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ RUN_WORKER: 'false' });
});
afterAll(() => s?.stop());

const now = () => Math.floor(Date.now() / 1000);
/** Signs a payload given as JSON text, as an identity provider could write it (escapes included). */
function signed(payloadJson: string): string {
  const head = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
  const body = Buffer.from(payloadJson).toString('base64url');
  return `${head}.${body}.${createHmac('sha256', TEST_SECRET).update(`${head}.${body}`).digest('base64url')}`;
}

function expectRefused(r: GqlResult) {
  expect(r.status).toBe(401);
  expect(r.errors).toEqual([expect.objectContaining({ extensions: { code: 'UNAUTHENTICATED' } })]);
}

test('a subject of 64 emoji is 64 characters: one customer with that id; 65 emoji are refused', async () => {
  const tag = randomUUID().slice(0, 8);
  const sub = `${tag}${'😀'.repeat(56)}`;
  const r = await s.gql(MeDocument, {}, await token(sub));
  expect(r.errors).toBeUndefined();
  expect(r.data?.me.id).toBe(sub);
  expect(await s.sql('select char_length(id) as n from customer where id = $1', [sub])).toEqual([{ n: 64 }]);
  expectRefused(await s.gql(MeDocument, {}, await token(`${sub}😀`)));
});

test('a subject containing U+0000 is refused with UNAUTHENTICATED, not an internal error', async () => {
  const sub = `nul-${randomUUID()}\u0000x`;
  const r = await s.gql(MeDocument, {}, signed(JSON.stringify({ sub, exp: now() + 600 })));
  expectRefused(r);
  expect(codeOf(r)).toBe('UNAUTHENTICATED');
});

test('subjects differing only in an unpaired surrogate are refused, never one customer for both', async () => {
  const tag = `half-${randomUUID()}`;
  for (const half of ['\\ud800', '\\udfff']) {
    expectRefused(await s.gql(MeDocument, {}, signed(`{"sub":"${tag}${half}","exp":${now() + 600}}`)));
  }
  expect(await s.sql('select id from customer where id like $1', [`${tag}%`])).toEqual([]);
});

test('an exp of 1e309, which JSON reads as Infinity, is refused: a token must be able to expire', async () => {
  expectRefused(await s.gql(MeDocument, {}, signed(`{"sub":"inf-${randomUUID()}","exp":1e309}`)));
});
