import { randomUUID } from 'node:crypto';
import { PlanDocument, PlansDocument } from '../__generated__/graphql';
import { readTestEnv } from '../support/env';
import { codeOf, startTestServer, token, type TestServer } from '../support/server';
import { until } from '../support/until';

const BODY_LIMIT = 4096;

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ BODY_LIMIT_BYTES: String(BODY_LIMIT) });
});
afterAll(() => s.stop());

/** POSTs a raw body to /graphql and returns status and the parsed body. */
async function post(body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const res = await fetch(`${s.url}/graphql`, { method: 'POST', headers, body });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON: asserted by the caller
  }
  return { status: res.status, text, json };
}

/** Nothing of the server's insides: no stack frame, file path or SQL. */
function expectNoLeak(text: string) {
  expect(text).not.toMatch(/\n\s+at |\bat [\w.<>]+ \(|node_modules|\/src\/|\.ts:\d+|stacktrace|\bselect\b.*\bfrom\b|relation "/i);
}

describe('requests that never reach a resolver', () => {
  test('malformed JSON body: 400 with BAD_REQUEST', async () => {
    const r = await post('{"query": "{ plans { id } }"');
    expect(r.status).toBe(400);
    expect(r.json?.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
    expectNoLeak(r.text);
  });

  test('query parse error: 400 with GRAPHQL_PARSE_FAILED', async () => {
    const r = await post(JSON.stringify({ query: '{ plans { id ' }));
    expect(r.status).toBe(400);
    expect(r.json.errors[0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
    expectNoLeak(r.text);
  });

  test('unknown field: 400 with GRAPHQL_VALIDATION_FAILED', async () => {
    const r = await post(JSON.stringify({ query: '{ plans { id secret } }' }));
    expect(r.status).toBe(400);
    expect(r.json.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  test('unknown operationName: 400 with OPERATION_RESOLUTION_FAILURE', async () => {
    const r = await post(JSON.stringify({ query: 'query A { plans { id } } query B { plans { name } }', operationName: 'C' }));
    expect(r.status).toBe(400);
    expect(r.json.errors[0].extensions.code).toBe('OPERATION_RESOLUTION_FAILURE');
  });

  test('missing required variable: 400 with BAD_USER_INPUT naming it', async () => {
    const r = await s.gql(PlanDocument, {} as never);
    expect(r.status).toBe(400);
    expect(codeOf(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0].message).toContain('$id');
  });

  test('a non-numeric value for an Int variable: 400 with BAD_USER_INPUT', async () => {
    const query = 'mutation($n: Int!) { createPlan(input: { name: "x", price: $n }) { id } }';
    const r = await post(JSON.stringify({ query, variables: { n: 'abc' } }));
    expect(r.status).toBe(400);
    expect(r.json.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(r.json.errors[0].message).toContain('$n');
    expectNoLeak(r.text);
  });

  test('a body over BODY_LIMIT_BYTES: 413', async () => {
    const r = await post(JSON.stringify({ query: `{ plans { id } } # ${'x'.repeat(BODY_LIMIT)}` }));
    expect(r.status).toBe(413);
    expectNoLeak(r.text);
  });

  test('no query at all: 400 with BAD_REQUEST', async () => {
    const r = await post(JSON.stringify({ variables: {} }));
    expect(r.status).toBe(400);
    expect(r.json.errors[0].extensions.code).toBe('BAD_REQUEST');
  });

  test('a mutation over GET is refused', async () => {
    const q = encodeURIComponent('mutation { setCustomerGroup(customerId: "x", group: "y") { id } }');
    const res = await fetch(`${s.url}/graphql?query=${q}`, { headers: { 'apollo-require-preflight': 'true' } });
    expect(res.status).toBe(405);
  });

  test('the server keeps serving after bad requests', async () => {
    const r = await s.gql(PlansDocument, {});
    expect(r.status).toBe(200);
    expect(r.errors).toBeUndefined();
  });
});

describe('an unexpected error', () => {
  test('is masked as INTERNAL_SERVER_ERROR with a generic message, and the server keeps serving', async () => {
    const other = await startTestServer({ RUN_WORKER: 'false' });
    try {
      await other.sql('alter table plan rename to plan_x');
      const r = await other.gql(PlansDocument, {});
      expect(codeOf(r)).toBe('INTERNAL_SERVER_ERROR');
      expect(r.errors![0].message).toBe('Internal server error');
      const text = JSON.stringify(r);
      expectNoLeak(text);
      expect(text).not.toMatch(/plan_x|"plan"|postgres|relation|exception/i);

      await other.sql('alter table plan_x rename to plan');
      const again = await other.gql(PlansDocument, {});
      expect(again.errors).toBeUndefined();
      expect((await fetch(`${other.url}/healthz`)).status).toBe(200);
    } finally {
      await other.stop();
    }
  });
});

describe('health', () => {
  test('/healthz answers 200', async () => {
    const res = await fetch(`${s.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  test('/readyz answers 200 when the database is reachable', async () => {
    const res = await fetch(`${s.url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', checks: { database: 'ok' } });
  });

  const redisUrl = readTestEnv().redisUrl;
  (redisUrl ? test : test.skip)('/readyz checks Redis too when REDIS_URL is set', async () => {
    const r = await startTestServer({ REDIS_URL: redisUrl!, RUN_WORKER: 'false' });
    try {
      // The bus connects asynchronously: ask until it is ready.
      const res = await until('/readyz to answer 200 once Redis is connected', async () => {
        const answer = await fetch(`${r.url}/readyz`);
        return answer.status === 200 && answer;
      }, 5_000);
      expect(await res.json()).toEqual({ status: 'ok', checks: { database: 'ok', redis: 'ok' } });
    } finally {
      await r.stop();
    }
  });

  test('/readyz answers 503 while Redis is unreachable, and the server still stops', async () => {
    const r = await startTestServer({ REDIS_URL: 'redis://127.0.0.1:1', RUN_WORKER: 'false' });
    try {
      const res = await fetch(`${r.url}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ status: 'unavailable', checks: { database: 'ok', redis: 'down' } });
    } finally {
      await r.stop();
    }
  });

  test('/readyz answers 503 when the database is gone', async () => {
    const r = await startTestServer({ RUN_WORKER: 'false' });
    try {
      const name = new URL(r.databaseUrl).pathname.slice(1);
      const admin = new URL(r.databaseUrl);
      admin.pathname = '/postgres';
      const { Client } = await import('pg');
      const c = new Client({ connectionString: admin.toString() });
      await c.connect();
      await c.query(`drop database ${name} with (force)`);
      await c.end();
      const res = await fetch(`${r.url}/readyz`);
      expect(res.status).toBe(503);
      expect((await res.json()).checks.database).toBe('down');
      const q = await r.gql(PlansDocument, {}, await token(`cust-${randomUUID()}`));
      expect(codeOf(q)).toBe('INTERNAL_SERVER_ERROR');
      expectNoLeak(JSON.stringify(q));
    } finally {
      await r.stop().catch(() => undefined);
    }
  });
});
