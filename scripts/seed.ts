import 'reflect-metadata';
import { SignJWT } from 'jose';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { startApp } from '../src/app';
import { loadConfigOrExit, type Config } from '../src/config';
import { resolveDatabase } from '../src/database';
import { formatMoney } from '../src/shared/money';

/**
 * `npm run seed`: fills a demo catalogue so a first start shows something, then prints a token per role.
 *
 * It runs the API itself, privately (127.0.0.1, a free port, a secret of its own, no job runner), on the
 * database `npm start` would use (DATABASE_URL, else the embedded one), so migrations are applied first
 * and every row is made by the same GraphQL operations a client sends, with their checks, audit entries
 * and catalogue notices. Each thing is looked up first (plans and coupons by name and code, groups,
 * wallet credits by reference), so running it again changes nothing.
 */

type Role = 'customer' | 'provider' | 'admin';

interface Person {
  id: string;
  role: Role;
  /** Customers: the group the demo puts them in, and the money their wallet is credited once. */
  group?: string;
  wallet?: number;
  /** What the printed line says the token is for (customers: their group and wallet). */
  note?: string;
}

const PEOPLE = {
  admin: { id: 'demo-admin', role: 'admin', note: 'runs the catalogue, coupons and customers' },
  provider: { id: 'demo-provider', role: 'provider', note: 'delivers "Website setup" by hand' },
  alice: { id: 'demo-alice', role: 'customer', group: 'default', wallet: 50_000 },
  bob: { id: 'demo-bob', role: 'customer', group: 'partners', wallet: 100_000 },
} satisfies Record<string, Person>;

type Who = keyof typeof PEOPLE;

interface DemoPlan {
  name: string;
  description: string;
  /** Minor units of the deployment's currency, like every amount. */
  price: number;
  durationDays: number | null;
  stock: number | null;
  /** Empty: every group. */
  groups: string[];
  /** Delivered by hand by demo-provider rather than by the platform's background job. */
  byProvider: boolean;
  upgrades: Array<{ name: string; price: number }>;
}

const PLANS: DemoPlan[] = [
  {
    name: 'Starter',
    description: 'The essentials, for a month',
    price: 990,
    durationDays: 30,
    stock: null,
    groups: [],
    byProvider: false,
    upgrades: [
      { name: 'Extra storage', price: 300 },
      { name: 'Email support', price: 200 },
    ],
  },
  {
    name: 'Pro',
    description: 'Everything, for a month',
    price: 4_900,
    durationDays: 30,
    stock: 100,
    groups: [],
    byProvider: false,
    upgrades: [
      { name: 'Priority support', price: 1_500 },
      { name: 'Five more seats', price: 2_000 },
    ],
  },
  {
    name: 'Partner bundle',
    description: 'A year of Pro for partners, onboarding included',
    price: 39_900,
    durationDays: 365,
    stock: 20,
    groups: ['partners'],
    byProvider: false,
    upgrades: [{ name: 'Dedicated onboarding call', price: 5_000 }],
  },
  {
    name: 'Website setup',
    description: 'A one-time service, delivered by hand',
    price: 14_900,
    durationDays: null,
    stock: 10,
    groups: [],
    byProvider: true,
    upgrades: [{ name: 'Logo design', price: 4_900 }],
  },
];

interface DemoCoupon {
  code: string;
  kind: 'PERCENT' | 'FIXED';
  value: number;
  maxUses?: number;
  maxUsesPerUser?: number;
  minAmount?: number;
  /** Names of the demo plans it is limited to. */
  plans?: string[];
}

const COUPONS: DemoCoupon[] = [
  { code: 'WELCOME10', kind: 'PERCENT', value: 10, maxUsesPerUser: 1 },
  { code: 'SAVE5', kind: 'FIXED', value: 500, minAmount: 2_000, maxUses: 1_000 },
  { code: 'PARTNER20', kind: 'PERCENT', value: 20, plans: ['Partner bundle'] },
];

/** Codes are unique ignoring case and surrounding spaces. */
const codeKey = (code: string) => code.trim().toUpperCase();

/** A GraphQL client of the private API instance, one token per demo person. */
class Api {
  constructor(
    private readonly url: string,
    private readonly tokens: Record<Who, string>,
  ) {}

  async run<T>(as: Who, query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const res = await fetch(`${this.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.tokens[as]}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> };
    if (body.errors?.length || !body.data) {
      const e = body.errors?.[0];
      const operation = /(?:query|mutation)\s+(\w+)/.exec(query)?.[1];
      throw new Error(`${operation} as ${PEOPLE[as].id}: ${e?.message ?? `HTTP ${res.status}`} (${e?.extensions?.code ?? 'no code'})`);
    }
    return body.data;
  }
}

/** What one run did: for each kind of thing, the names it made and those that were there already. */
class Tally {
  readonly lines: string[] = [];
  add(kind: string, made: string[], found: string[]): void {
    const parts = [made.length ? `added ${made.join(', ')}` : '', found.length ? `already there: ${found.join(', ')}` : ''].filter(Boolean);
    this.lines.push(`${kind}: ${parts.join('; ')}`);
  }
}

async function seed(api: Api, currency: string): Promise<{ tally: Tally; balances: Record<string, number> }> {
  const tally = new Tally();

  // A customer row is made on its first authenticated request; the provider's must exist (with its
  // role) before a plan can name it.
  const groups: Record<string, string> = {};
  for (const who of Object.keys(PEOPLE) as Who[]) {
    const { me } = await api.run<{ me: { id: string; group: string } }>(who, `query Me { me { id group } }`);
    groups[who] = me.group;
  }
  const moved: string[] = [];
  const placed: string[] = [];
  for (const who of ['alice', 'bob'] as const) {
    const p = PEOPLE[who];
    if (groups[who] === p.group) {
      placed.push(`${p.id} in ${p.group}`);
      continue;
    }
    await api.run('admin', `mutation SetGroup($c: ID!, $g: String!) { setCustomerGroup(customerId: $c, group: $g) { id } }`, { c: p.id, g: p.group });
    moved.push(`${p.id} in ${p.group}`);
  }
  tally.add('customer groups', moved, placed);

  const { allPlans } = await api.run<{ allPlans: Array<{ id: string; name: string }> }>('admin', `query AllPlans { allPlans { id name } }`);
  const planIds = new Map(allPlans.map((p) => [p.name, p.id]));
  const madePlans: string[] = [];
  for (const plan of PLANS) {
    if (planIds.has(plan.name)) continue;
    const input = {
      name: plan.name,
      description: plan.description,
      price: plan.price,
      durationDays: plan.durationDays,
      stock: plan.stock,
      groups: plan.groups,
      upgrades: plan.upgrades,
      providerId: plan.byProvider ? PEOPLE.provider.id : null,
    };
    const { createPlan } = await api.run<{ createPlan: { id: string } }>('admin', `mutation CreatePlan($i: CreatePlanInput!) { createPlan(input: $i) { id } }`, { i: input });
    planIds.set(plan.name, createPlan.id);
    madePlans.push(plan.name);
  }
  tally.add('plans', madePlans, PLANS.map((p) => p.name).filter((n) => !madePlans.includes(n)));

  const existing = new Set<string>();
  for (let after: string | null = null, more = true; more; ) {
    const { coupons }: { coupons: { edges: Array<{ node: { code: string } }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } = await api.run(
      'admin',
      `query Coupons($after: String) { coupons(first: 100, after: $after) { edges { node { code } } pageInfo { hasNextPage endCursor } } }`,
      { after },
    );
    coupons.edges.forEach((e) => existing.add(codeKey(e.node.code)));
    ({ hasNextPage: more, endCursor: after } = coupons.pageInfo);
  }
  const madeCoupons: string[] = [];
  for (const c of COUPONS) {
    if (existing.has(codeKey(c.code))) continue;
    const { plans, ...terms } = c;
    const input = { ...terms, planIds: plans?.map((name) => planIds.get(name)) ?? null };
    await api.run('admin', `mutation CreateCoupon($i: CreateCouponInput!) { createCoupon(input: $i) { id } }`, { i: input });
    madeCoupons.push(c.code);
  }
  tally.add('coupons', madeCoupons, COUPONS.map((c) => c.code).filter((c) => !madeCoupons.includes(c)));

  // creditWallet credits once per reference: the same call again returns the wallet as it is.
  const balances: Record<string, number> = {};
  const credited: string[] = [];
  const before: string[] = [];
  for (const who of ['alice', 'bob'] as const) {
    const p = PEOPLE[who];
    const { wallet } = await api.run<{ wallet: { balance: { amount: number } } }>(who, `query Balance { wallet { balance { amount } } }`);
    const { creditWallet } = await api.run<{ creditWallet: { balance: { amount: number } } }>(
      'admin',
      `mutation Credit($c: ID!, $a: Int!, $r: String!) { creditWallet(customerId: $c, amount: $a, reference: $r) { balance { amount } } }`,
      { c: p.id, a: p.wallet, r: `seed:${p.id}` },
    );
    balances[p.id] = creditWallet.balance.amount;
    (creditWallet.balance.amount === wallet.balance.amount ? before : credited).push(`${p.id} ${formatMoney(p.wallet, currency)}`);
  }
  tally.add('wallet money', credited, before);
  return { tally, balances };
}

/** An HS256 token for `person`, with the issuer and audience the verifying API requires, if any. */
async function tokenFor(person: Person, secret: string, ttl: string, claims: Partial<Pick<Config['jwt'], 'issuer' | 'audience'>> = {}): Promise<string> {
  let jwt = new SignJWT({ role: person.role }).setProtectedHeader({ alg: 'HS256' }).setSubject(person.id).setIssuedAt().setExpirationTime(ttl);
  if (claims.issuer) jwt = jwt.setIssuer(claims.issuer);
  if (claims.audience) jwt = jwt.setAudience(claims.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}

async function main(): Promise<string> {
  const { values } = parseArgs({ options: { ttl: { type: 'string', default: '12h' } } });
  const ttl = values.ttl;
  const config = loadConfigOrExit();
  if (config.isProduction) throw new Error('demo data and its tokens do not belong in production: npm run seed refuses NODE_ENV=production');
  const say = (m: string) => console.log(`[seed] ${m}`);

  const db = await resolveDatabase(config, say);
  let result: Awaited<ReturnType<typeof seed>>;
  try {
    // Its own secret: the seeding instance is reached by this process alone, whatever verifies the real one's tokens.
    const internal = randomBytes(32).toString('hex');
    const app = await startApp(
      {
        ...config,
        port: 0,
        host: '127.0.0.1',
        runWorker: false,
        logLevel: process.env.LOG_LEVEL ? config.logLevel : 'warn',
        jwt: { ...config.jwt, secret: internal, jwksUrl: undefined, issuer: undefined, audience: undefined, devSecret: false },
      },
      db.url,
    );
    try {
      const tokens = {} as Record<Who, string>;
      for (const who of Object.keys(PEOPLE) as Who[]) tokens[who] = await tokenFor(PEOPLE[who], internal, '10m');
      result = await seed(new Api(app.url, tokens), config.currency);
    } finally {
      await app.stop();
    }
  } finally {
    await db.stop();
  }

  const out = ['', 'Demo data ready:', ...result.tally.lines.map((l) => `  ${l}`), ''];
  const people = Object.values(PEOPLE) as Person[];
  const describe = (p: Person) => p.note ?? `group ${p.group}, wallet ${formatMoney(result.balances[p.id], config.currency)}`;
  if (config.jwt.secret) {
    const signedWith = config.jwt.devSecret ? 'the development secret' : 'JWT_SECRET';
    out.push(`Tokens (signed with ${signedWith}, valid ${ttl}; npm run seed again prints fresh ones):`);
    for (const p of people) out.push(`  ${p.role.padEnd(8)} ${p.id.padEnd(13)} ${await tokenFor(p, config.jwt.secret, ttl, config.jwt)}   (${describe(p)})`);
    out.push(
      '',
      `Next: npm start, open ${config.publicUrl}/graphql in a browser, and in the Headers tab enter`,
      '  { "Authorization": "Bearer <one of the tokens above>" }',
      'The IDE opens with example tabs: browse plans, order and pay, follow an order live, paid orders (admin).',
    );
  } else {
    out.push('JWT_JWKS_URL is set: get tokens from your identity provider for these subjects and roles:');
    for (const p of people) out.push(`  ${p.role.padEnd(8)} ${p.id.padEnd(13)} (${describe(p)})`);
  }
  return `${out.join('\n')}\n`;
}

main().then(
  // Written in full before exiting: a pipe's writes are asynchronous.
  (text) => process.stdout.write(text, () => process.exit(0)),
  (e: unknown) => {
    console.error(`[seed] failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
