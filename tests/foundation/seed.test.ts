import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { freePort } from '../../src/infra/free-port';
import { dbUrl, readTestEnv } from '../support/env';
import { codeOf, startTestServer, TEST_SECRET, type GqlResult, type TestServer } from '../support/server';
import { until } from '../support/until';

/**
 * `npm run seed` as a newcomer runs it: a child process with the environment alone, against an empty
 * database (it migrates it) or the embedded one, twice; then the real server shows what it made and
 * takes the tokens it printed.
 */
const ROOT = path.resolve(__dirname, '..', '..');

jest.setTimeout(180_000);

interface Run {
  code: number | null;
  output: string;
}

/** `npm run seed` with exactly `env` besides PATH and HOME. */
function seed(env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'seed'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', JWT_SECRET: TEST_SECRET, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, output }));
  });
}

/** The tokens a run printed, by subject. */
function printedTokens(output: string): Record<string, string> {
  const tokens: Record<string, string> = {};
  for (const m of output.matchAll(/^\s+(?:admin|provider|customer)\s+(demo-\S+)\s+(eyJ[\w-]+\.[\w-]+\.[\w-]+)/gm)) tokens[m[1]] = m[2];
  return tokens;
}

/** Every row of every table of the application and every job, as comparable text. */
async function snapshot(url: string): Promise<Record<string, string[]>> {
  const db = new Client({ connectionString: url });
  await db.connect();
  try {
    const tables = await db.query<{ name: string }>(
      `select table_name as name from information_schema.tables
        where table_schema = 'public' and table_type = 'BASE TABLE' and table_name <> 'mikro_orm_migrations' order by 1`,
    );
    const all: Record<string, string[]> = {};
    for (const { name } of tables.rows) all[name] = (await db.query(`select * from "${name}"`)).rows.map((r) => JSON.stringify(r)).sort();
    all['graphile_worker.jobs'] = (await db.query(`select id, task_identifier, key from graphile_worker.jobs`)).rows.map((r) => JSON.stringify(r)).sort();
    return all;
  } finally {
    await db.end();
  }
}

function ok<T>(r: GqlResult<T>): T {
  if (r.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(r.errors)}`);
  return r.data as T;
}

const PLANS = `{ plans { name price { amount currency } durationDays stockRemaining upgrades { name price { amount } } } }`;

describe('against DATABASE_URL', () => {
  const env = readTestEnv();
  const name = `commerce_test_seed_${randomBytes(5).toString('hex')}`;
  const url = dbUrl(env.adminUrl, name);
  let first: Run;
  let second: Run;
  let afterFirst: Record<string, string[]>;
  let s: TestServer;
  let tokens: Record<string, string>;

  beforeAll(async () => {
    const admin = new Client({ connectionString: env.adminUrl });
    await admin.connect();
    // Empty, not copied from the migrated template: the seed must bring the schema itself.
    await admin.query(`create database ${name}`);
    await admin.end();
    first = await seed({ DATABASE_URL: url });
    afterFirst = await snapshot(url);
    second = await seed({ DATABASE_URL: url });
    s = await startTestServer({}, { databaseUrl: url });
    tokens = printedTokens(second.output);
  });
  afterAll(async () => {
    await s?.stop();
    const admin = new Client({ connectionString: env.adminUrl });
    await admin.connect();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  });

  test('the first run migrates the database and adds the demo catalogue', () => {
    expect({ code: first.code, output: first.output }).toEqual({ code: 0, output: expect.stringContaining('Demo data ready') });
    expect(first.output).toContain('plans: added Starter, Pro, Partner bundle, Website setup');
    expect(first.output).toContain('coupons: added WELCOME10, SAVE5, PARTNER20');
    expect(first.output).toContain('wallet money: added demo-alice $500.00, demo-bob $1,000.00');
    expect(first.output).toContain('added demo-bob in partners');
  });

  test('running it again changes nothing and says so', async () => {
    expect(second.code).toBe(0);
    expect(second.output).not.toMatch(/\badded\b/);
    expect(second.output).toContain('plans: already there: Starter, Pro, Partner bundle, Website setup');
    expect(await snapshot(url)).toEqual(afterFirst);
  });

  test('it prints a working token per role', async () => {
    expect(Object.keys(tokens).sort()).toEqual(['demo-admin', 'demo-alice', 'demo-bob', 'demo-provider']);
    for (const [id, jwt] of Object.entries(tokens)) expect(ok(await s.gql<{ me: { id: string } }>(`{ me { id } }`, {}, jwt)).me.id).toBe(id);
    // Each role can do what its role allows.
    expect(ok(await s.gql(`{ allPlans { name } }`, {}, tokens['demo-admin']))).toBeTruthy();
    expect(ok(await s.gql(`{ myDeliveries { id } }`, {}, tokens['demo-provider']))).toEqual({ myDeliveries: [] });
    expect(codeOf(await s.gql(`{ allPlans { name } }`, {}, tokens['demo-alice']))).toBe('FORBIDDEN');
  });

  test('each customer group sees its plans, with their upgrades and stock', async () => {
    const everyone = ['Starter', 'Pro', 'Website setup'];
    const names = async (jwt: string | null) => ok(await s.gql<{ plans: Array<{ name: string }> }>(PLANS, {}, jwt)).plans.map((p) => p.name);
    expect(await names(null)).toEqual(everyone);
    expect(await names(tokens['demo-alice'])).toEqual(everyone);
    expect(await names(tokens['demo-bob'])).toEqual(['Starter', 'Pro', 'Partner bundle', 'Website setup']);
    const pro = ok(await s.gql<{ plans: Array<{ name: string }> }>(PLANS, {}, tokens['demo-bob'])).plans.find((p) => p.name === 'Pro');
    expect(pro).toEqual({
      name: 'Pro',
      price: { amount: 4900, currency: 'USD' },
      durationDays: 30,
      stockRemaining: 100,
      upgrades: [
        { name: 'Priority support', price: { amount: 1500 } },
        { name: 'Five more seats', price: { amount: 2000 } },
      ],
    });
  });

  test('the customers have wallet money and a coupon takes its discount off an order they pay', async () => {
    const alice = tokens['demo-alice'];
    const balance = async (jwt: string) => ok(await s.gql<{ wallet: { balance: { amount: number } } }>(`{ wallet { balance { amount } } }`, {}, jwt)).wallet.balance.amount;
    expect([await balance(alice), await balance(tokens['demo-bob'])]).toEqual([50_000, 100_000]);

    const planId = ok(await s.gql<{ plans: Array<{ id: string; name: string }> }>(`{ plans { id name } }`, {}, alice)).plans.find((p) => p.name === 'Pro')!.id;
    const preview = (code: string) =>
      s.gql<{ couponPreview: { valid: boolean; rejection: string | null; message: string; discount: { amount: number }; total: { amount: number } } }>(
        `query($code: String!, $planId: ID!) { couponPreview(code: $code, planId: $planId) { valid rejection message discount { amount } total { amount } } }`,
        { code, planId },
        alice,
      );
    expect(ok(await preview('welcome10')).couponPreview).toEqual({
      valid: true,
      rejection: null,
      message: 'Coupon WELCOME10 applies (10% off): you save $4.90.',
      discount: { amount: 490 },
      total: { amount: 5072 }, // (4900 - 490) + 15% tax, half up
    });
    expect(ok(await preview('PARTNER20')).couponPreview.rejection).toBe('NOT_APPLICABLE');

    const order = ok(
      await s.gql<{ createOrder: { id: string; total: { amount: number } } }>(
        `mutation($i: CreateOrderInput!) { createOrder(input: $i) { id total { amount } } }`,
        { i: { planId, couponCode: 'WELCOME10' } },
        alice,
      ),
    ).createOrder;
    expect(order.total.amount).toBe(5072);
    const paid = ok(await s.gql<{ payWithWallet: { status: string } }>(`mutation($id: ID!) { payWithWallet(orderId: $id) { status } }`, { id: order.id }, alice));
    expect(paid.payWithWallet.status).toBe('PAID');
    expect(await balance(alice)).toBe(50_000 - 5072);
  });
});

test('without DATABASE_URL it fills the embedded database that npm start then serves', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'commerce-seed-'));
  // The embedded server runs as the `postgres` user when tests run as root: it must reach the folder.
  chmodSync(dataDir, 0o755);
  const port = await freePort();
  const server = { output: '', child: null as ReturnType<typeof spawn> | null };
  try {
    const first = await seed({ DATA_DIR: dataDir });
    expect({ code: first.code, output: first.output }).toEqual({ code: 0, output: expect.stringContaining('DATABASE_URL is unset: using an embedded PostgreSQL') });
    expect(first.output).toContain('plans: added Starter, Pro, Partner bundle, Website setup');
    const again = await seed({ DATA_DIR: dataDir });
    expect(again.code).toBe(0);
    expect(again.output).not.toMatch(/\badded\b/);

    // npm start, the same way: tsx src/main.ts with the same environment.
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', JWT_SECRET: TEST_SECRET, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.child = child;
    child.stdout.on('data', (d) => (server.output += d));
    child.stderr.on('data', (d) => (server.output += d));
    type Listed = { data?: { plans: Array<{ name: string }> } };
    const listed = await until('npm start to answer the plans, or to exit', async () => {
      if (child.exitCode !== null) return { exited: child.exitCode };
      const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ plans { name } }' }),
      });
      return (await res.json()) as Listed;
    }, 60_000).catch((e: Error) => ({ exited: e.message }));
    if ('exited' in listed) throw new Error(`npm start never answered (${listed.exited}):\n${server.output}`);
    expect(listed.data?.plans.map((p) => p.name)).toEqual(['Starter', 'Pro', 'Website setup']);
  } finally {
    if (server.child && server.child.exitCode === null) {
      const exited = new Promise((r) => server.child!.once('exit', r));
      server.child.kill('SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
});
