import { buildClientSchema, getIntrospectionQuery, parse, validate, type IntrospectionQuery, type OperationDefinitionNode } from 'graphql';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { startTestServer, token, type TestServer } from '../support/server';
import { until } from '../support/until';

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

/** The options the page hands to GraphiQL, as the browser receives them. */
async function ideOptions(): Promise<{ headers: string; defaultTabs: Array<{ query: string; variables: string | null; headers: string | null }> }> {
  const html = await (await fetch(`${s.url}/graphql`, { headers: { accept: 'text/html' } })).text();
  const m = /renderYogaGraphiQL\(\s*window\.document\.querySelector\('#root'\),\s*(\{.*\}),\s*\);/.exec(html);
  if (!m) throw new Error('the page does not start GraphiQL with options');
  return JSON.parse(m[1]);
}

test('the IDE opens with example tabs: browse plans, order and pay, follow an order, an admin search', async () => {
  const { defaultTabs, headers } = await ideOptions();
  const operations = defaultTabs.map((t) =>
    parse(t.query).definitions.map((d) => `${(d as OperationDefinitionNode).operation} ${(d as OperationDefinitionNode).name?.value}`),
  );
  expect(operations).toEqual([
    ['query BrowsePlans'],
    ['mutation CreateOrder', 'mutation PayWithWallet', 'query MyWallet'],
    ['subscription FollowOrder'],
    ['query AdminPaidOrders'],
  ]);
  expect(defaultTabs[1].query).toMatch(/createOrder\(input: \{ planId: \$planId/);
  expect(defaultTabs[2].query).toMatch(/orderUpdated\(orderId: \$orderId\)/);
  expect(defaultTabs[3].query).toContain('orders(filter: { status: PAID }, first: 20');
  // Every tab's variables are JSON the IDE can send; every tab starts with the IDE's headers, no token.
  for (const t of defaultTabs) {
    expect(JSON.parse(t.variables ?? '{}')).toEqual(expect.any(Object));
    expect(t.headers).toBeNull();
  }
  expect(JSON.parse(headers)).toEqual({ Authorization: 'Bearer ' });
});

test('every example operation is valid against the schema this server runs', async () => {
  const { defaultTabs } = await ideOptions();
  const introspection = await s.gql<IntrospectionQuery>(getIntrospectionQuery());
  const schema = buildClientSchema(introspection.data!);
  for (const t of defaultTabs) {
    expect({ tab: t.query.match(/^(query|mutation|subscription) \w+/m)?.[0], errors: validate(schema, parse(t.query)).map((e) => e.message) }).toEqual({
      tab: expect.any(String),
      errors: [],
    });
  }
});

/** Debian's chromium, as in tests/hardening/ide-browser.test.ts (skipped loudly there when missing). */
const CHROMIUM = '/usr/bin/chromium';

(existsSync(CHROMIUM) ? test : test.skip)(
  'in a browser, the example tabs show by name, open with a click each and the first one runs as it is',
  async () => {
    const planName = `Tabbed plan ${Date.now()}`;
    const created = await s.gql(`mutation($i: CreatePlanInput!) { createPlan(input: $i) { id } }`, { i: { name: planName, price: 4900 } }, await token('ide-admin', 'admin'));
    expect(created.errors).toBeUndefined();
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage();
      await page.route('**/*', (route) => (route.request().url().startsWith(s.url) || route.request().url().startsWith('data:') ? route.continue() : route.abort()));
      await page.goto(`${s.url}/graphql`);
      const tabs = page.locator('.graphiql-tab-button');
      const names = ['BrowsePlans', 'CreateOrder', 'FollowOrder', 'AdminPaidOrders'];
      await tabs.nth(3).waitFor();
      expect(await tabs.allInnerTexts()).toEqual(names);
      // Opened again (a reload, the next visit), the IDE shows the same tabs, not a copy of the open one.
      await page.reload();
      await tabs.nth(3).waitFor();
      expect(await tabs.allInnerTexts()).toEqual(names);

      /** Waits until the editor under `selector` shows `text` (Monaco draws spaces as no-break spaces). */
      const shows = async (selector: string, text: string) => {
        const lines = page.locator(`${selector} .monaco-editor .view-lines`).first();
        return until(`${selector} to show ${text}`, async () => {
          const shown = (await lines.innerText()).replace(/\u00a0/g, ' ');
          if (!shown.includes(text)) throw new Error(`it shows:\n${shown}`);
          return shown;
        }, 15_000);
      };

      // The first tab is open: it runs as it is, without a token.
      await page.locator('.graphiql-execute-button').click();
      expect(await shows('.graphiql-response', planName)).toContain('"currency": "USD"');

      // One click on a tab opens it, in any order.
      const expected: Array<[number, string]> = [
        [1, 'createOrder(input: { planId: $planId'],
        [2, 'orderUpdated(orderId: $orderId)'],
        [3, 'orders(filter: { status: PAID }, first: 20'],
        [0, 'query BrowsePlans'],
      ];
      for (const [i, text] of expected) {
        await tabs.nth(i).click();
        await shows('.graphiql-query-editor', text);
      }
      await page.getByRole('button', { name: 'Headers' }).click();
      await shows('.graphiql-editor-tool .graphiql-editor:not(.hidden)', '"Authorization": "Bearer "');

      // After using them too.
      await page.reload();
      await tabs.nth(3).waitFor();
      await shows('.graphiql-query-editor', 'query BrowsePlans');
      // The example tabs are all still there, in order. GraphiQL may also restore the tab the user was
      // last editing as one more tab after them: that is its own session memory, not a lost example.
      const afterUse = await tabs.allInnerTexts();
      expect(afterUse.slice(0, names.length)).toEqual(names);
      expect(afterUse.length).toBeLessThanOrEqual(names.length + 1);
    } finally {
      await browser.close();
    }
  },
  120_000,
);
