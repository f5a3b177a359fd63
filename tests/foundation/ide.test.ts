import { startTestServer, type TestServer } from '../support/server';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ RUN_WORKER: 'false' });
});
afterAll(() => s.stop());

const attr = (tag: string, name: string) => new RegExp(`\\b${name}\\s*=\\s*["']?([^"'\\s>]+)`, 'i').exec(tag)?.[1];

test('GET /graphql from a browser serves GraphiQL that loads nothing from outside', async () => {
  const res = await fetch(`${s.url}/graphql`, { headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/text\/html/);
  const html = await res.text();
  expect(html).toMatch(/graphiql/i);
  expect(html.length).toBeGreaterThan(100_000); // the IDE's code is inlined, not fetched

  const scripts = [...html.matchAll(/<script\b[^>]*>/gi)].map((m) => attr(m[0], 'src')).filter((v): v is string => !!v);
  const links = [...html.matchAll(/<link\b[^>]*>/gi)].map((m) => attr(m[0], 'href')).filter((v): v is string => !!v);
  const external = [...scripts, ...links].filter((u) => /^(https?:)?\/\//i.test(u));
  expect(external).toEqual([]);
  // Nor through CSS or module imports.
  expect(html).not.toMatch(/@import\s+url\(\s*["']?https?:|\bimport\s*\(\s*["']https?:|from\s*["']https?:\/\//i);
});

test('the page talks to this server, over HTTP and graphql-ws', async () => {
  const html = await (await fetch(`${s.url}/graphql`, { headers: { accept: 'text/html' } })).text();
  expect(html).toContain('/graphql');
  expect(html).toMatch(/subscriptionsProtocol|WS/);
});

test('a JSON client on GET /graphql gets GraphQL, not the page', async () => {
  const res = await fetch(`${s.url}/graphql?query=${encodeURIComponent('{ plans { id } }')}`, {
    headers: { accept: 'application/json', 'apollo-require-preflight': 'true' },
  });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ data: { plans: [] } });
});
