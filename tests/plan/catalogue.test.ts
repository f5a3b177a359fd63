import { randomUUID } from 'node:crypto';
import {
  CreatePlanDocument,
  MeDocument,
  PlanDocument,
  PlanNamesDocument,
  PlansDocument,
  SetCustomerGroupDocument,
  UpdatePlanDocument,
  type CreatePlanInput,
} from '../__generated__/graphql';
import { codeOf, startTestServer, token, type GqlResult, type TestServer } from '../support/server';

let s: TestServer;
let admin: string;
beforeAll(async () => {
  s = await startTestServer();
  admin = await token(`admin-${randomUUID()}`, 'admin');
});
afterAll(() => s.stop());

const tag = () => randomUUID().slice(0, 8);

async function createPlan(input: CreatePlanInput) {
  const r = await s.gql(CreatePlanDocument, { input }, admin);
  expect(r.errors).toBeUndefined();
  return r.data!.createPlan;
}

const names = (r: GqlResult<{ plans: Array<{ name: string }> }>) => {
  expect(r.errors).toBeUndefined();
  return r.data!.plans.map((p) => p.name);
};

describe('visibility by customer group', () => {
  const t = tag();
  const plan = (n: string) => `${n}-${t}`;
  let hidden: { id: string };
  let gold: { id: string };

  beforeAll(async () => {
    await createPlan({ name: plan('everyone'), price: 1000 });
    gold = await createPlan({ name: plan('gold'), price: 2000, groups: [`gold-${t}`] });
    await createPlan({ name: plan('silver'), price: 3000, groups: [`silver-${t}`] });
    await createPlan({ name: plan('gold-and-default'), price: 4000, groups: [`gold-${t}`, 'default'] });
    hidden = await createPlan({ name: plan('hidden'), price: 5000, saleStatus: 'HIDDEN' });
    await createPlan({ name: plan('retired'), price: 6000, saleStatus: 'RETIRED' });
  });

  test('anonymous callers see the default group’s view', async () => {
    const seen = names(await s.gql(PlanNamesDocument, {}, null)).filter((n) => n.endsWith(t));
    expect(seen.sort()).toEqual([plan('everyone'), plan('gold-and-default')].sort());
  });

  test('a customer moved into a group sees its plans and the plans naming no group, no others', async () => {
    const id = `cust-${randomUUID()}`;
    const customer = await token(id);
    expect((await s.gql(MeDocument, {}, customer)).data?.me.group).toBe('default');
    const moved = await s.gql(SetCustomerGroupDocument, { customerId: id, group: `gold-${t}` }, admin);
    expect(moved.errors).toBeUndefined();
    expect(moved.data?.setCustomerGroup).toEqual({ id, group: `gold-${t}` });
    expect((await s.gql(MeDocument, {}, customer)).data?.me.group).toBe(`gold-${t}`);
    const seen = names(await s.gql(PlanNamesDocument, {}, customer)).filter((n) => n.endsWith(t));
    expect(seen.sort()).toEqual([plan('everyone'), plan('gold'), plan('gold-and-default')].sort());
  });

  test('plan(id) is null for a plan the caller may not see, and for an id that is not a UUID', async () => {
    const anon = await s.gql(PlanDocument, { id: gold.id }, null);
    expect(anon.errors).toBeUndefined();
    expect(anon.data?.plan).toBeNull();
    expect((await s.gql(PlanDocument, { id: hidden.id }, await token(`cust-${randomUUID()}`))).data?.plan).toBeNull();
    for (const id of ['not-a-uuid', "1' or '1'='1", '']) {
      const r = await s.gql(PlanDocument, { id }, null);
      expect(r.errors).toBeUndefined();
      expect(r.data?.plan).toBeNull();
    }
    expect((await s.gql(PlanDocument, { id: randomUUID() }, null)).data?.plan).toBeNull();
  });

  test('admins see any plan by id', async () => {
    const r = await s.gql(PlanDocument, { id: hidden.id }, admin);
    expect(r.data?.plan).toMatchObject({ id: hidden.id, saleStatus: 'HIDDEN' });
  });

  test('setCustomerGroup of an unknown customer is NOT_FOUND', async () => {
    const r = await s.gql(SetCustomerGroupDocument, { customerId: `nobody-${randomUUID()}`, group: 'gold' }, admin);
    expect(codeOf(r)).toBe('NOT_FOUND');
  });
});

test('a plan lists with its price, stock and upgrades in order', async () => {
  const name = `full-${tag()}`;
  const created = await createPlan({
    name,
    description: 'All of it',
    price: 1999,
    durationDays: 30,
    stock: 7,
    upgrades: [
      { name: 'Priority', price: 500 },
      { name: 'Backup', price: 0 },
    ],
  });
  const listed = (await s.gql(PlansDocument, {}, null)).data!.plans.find((p) => p.id === created.id);
  expect(listed).toEqual({
    id: created.id,
    name,
    description: 'All of it',
    price: { amount: 1999, currency: 'USD' },
    durationDays: 30,
    saleStatus: 'ON_SALE',
    stockRemaining: 7,
    upgrades: [
      { id: expect.any(String), name: 'Priority', price: { amount: 500, currency: 'USD' } },
      { id: expect.any(String), name: 'Backup', price: { amount: 0, currency: 'USD' } },
    ],
  });
});

test('updatePlan changes what customers see', async () => {
  const p = await createPlan({ name: `before-${tag()}`, price: 100, stock: 3 });
  const after = `after-${tag()}`;
  const r = await s.gql(UpdatePlanDocument, { id: p.id, input: { name: after, price: 250, description: 'now described', stock: 10 } }, admin);
  expect(r.errors).toBeUndefined();
  expect(r.data?.updatePlan).toEqual({ id: p.id, name: after, description: 'now described', price: { amount: 250 }, saleStatus: 'ON_SALE', stockRemaining: 10 });
  expect((await s.gql(PlanDocument, { id: p.id }, null)).data?.plan?.name).toBe(after);

  await s.gql(UpdatePlanDocument, { id: p.id, input: { saleStatus: 'HIDDEN' } }, admin);
  expect(names(await s.gql(PlanNamesDocument, {}, null))).not.toContain(after);
  expect((await s.gql(PlanDocument, { id: p.id }, null)).data?.plan).toBeNull();

  await s.gql(UpdatePlanDocument, { id: p.id, input: { saleStatus: 'ON_SALE', groups: ['vip'] } }, admin);
  expect(names(await s.gql(PlanNamesDocument, {}, null))).not.toContain(after);
  await s.gql(UpdatePlanDocument, { id: p.id, input: { groups: [] } }, admin);
  expect(names(await s.gql(PlanNamesDocument, {}, null))).toContain(after);

  const row = await s.sql('select name, price, stock, sale_status, groups from plan where id = $1', [p.id]);
  expect(row).toEqual([{ name: after, price: 250, stock: 10, sale_status: 'ON_SALE', groups: [] }]);
});

test('updatePlan of a plan that does not exist is NOT_FOUND', async () => {
  for (const id of [randomUUID(), 'not-a-uuid']) {
    expect(codeOf(await s.gql(UpdatePlanDocument, { id, input: { name: 'x' } }, admin))).toBe('NOT_FOUND');
  }
});

describe('validation and permissions', () => {
  let before: number;
  beforeAll(async () => {
    before = (await s.sql('select count(*)::int as n from plan'))[0].n;
  });

  const bad = (input: Record<string, unknown>) => s.gql(CreatePlanDocument, { input: { name: 'Valid', price: 100, ...input } }, admin);

  test.each([
    ['a negative price', { price: -1 }, 'price'],
    ['a price that is not an integer', { price: 10.5 }, 'price'],
    ['a price that is not a number', { price: 'ten' }, 'price'],
    ['an empty name', { name: '' }, 'name'],
    ['a name of 201 characters', { name: 'n'.repeat(201) }, 'name'],
    ['a blank name', { name: '   ' }, 'name'],
    ['a name with an ANSI escape', { name: 'Plan \u001b[31mred' }, 'name'],
    ['a description with a control character', { description: 'one\ntwo\u0007' }, 'description'],
    ['an upgrade name with a control character', { upgrades: [{ name: 'U\u0001', price: 5 }] }, 'name'],
    ['a negative stock', { stock: -1 }, 'stock'],
    ['a negative upgrade price', { upgrades: [{ name: 'U', price: -5 }] }, 'price'],
  ])('createPlan with %s is BAD_USER_INPUT naming the field', async (_name, input, field) => {
    const r = await bad(input);
    expect(codeOf(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0].message).toContain(field);
    expect(r.data ?? null).toBeNull();
  });

  test('updatePlan validates the same way', async () => {
    const p = await createPlan({ name: `v-${tag()}`, price: 100 });
    for (const [input, field] of [
      [{ price: -1 }, 'price'],
      [{ name: '' }, 'name'],
      [{ name: 'n'.repeat(201) }, 'name'],
      [{ name: ' \t ' }, 'name'],
      [{ description: 'x\u001bx' }, 'description'],
      [{ stock: -1 }, 'stock'],
    ] as const) {
      const r = await s.gql(UpdatePlanDocument, { id: p.id, input }, admin);
      expect(codeOf(r)).toBe('BAD_USER_INPUT');
      expect(r.errors![0].extensions?.field ?? r.errors![0].message).toMatch(field);
    }
    expect(await s.sql('select name, price, stock from plan where id = $1', [p.id])).toEqual([{ name: p.name, price: 100, stock: null }]);
    before++;
  });

  test('an unknown providerId, or one of a customer who is not a provider, is BAD_USER_INPUT naming providerId', async () => {
    const r1 = await bad({ providerId: `nobody-${randomUUID()}` });
    expect(codeOf(r1)).toBe('BAD_USER_INPUT');
    expect(r1.errors![0].message).toContain('providerId');
    const customerId = `cust-${randomUUID()}`;
    await s.gql(MeDocument, {}, await token(customerId));
    const r2 = await bad({ providerId: customerId });
    expect(codeOf(r2)).toBe('BAD_USER_INPUT');
    expect(r2.errors![0].extensions?.field).toBe('providerId');
  });

  test('a provider may be named', async () => {
    const providerId = `prov-${randomUUID()}`;
    await s.gql(MeDocument, {}, await token(providerId, 'provider'));
    const r = await bad({ providerId, upgrades: [{ name: 'U', price: 5 }] });
    expect(r.errors).toBeUndefined();
    expect(await s.sql('select provider_id from plan where id = $1', [r.data!.createPlan.id])).toEqual([{ provider_id: providerId }]);
    before++;
  });

  test('non-admins are FORBIDDEN, anonymous callers UNAUTHENTICATED', async () => {
    const customer = await token(`cust-${randomUUID()}`);
    const provider = await token(`prov-${randomUUID()}`, 'provider');
    const someId = randomUUID();
    for (const t of [customer, provider]) {
      expect(codeOf(await s.gql(CreatePlanDocument, { input: { name: 'X', price: 1 } }, t))).toBe('FORBIDDEN');
      expect(codeOf(await s.gql(UpdatePlanDocument, { id: someId, input: { name: 'X' } }, t))).toBe('FORBIDDEN');
      expect(codeOf(await s.gql(SetCustomerGroupDocument, { customerId: 'x', group: 'gold' }, t))).toBe('FORBIDDEN');
    }
    expect(codeOf(await s.gql(CreatePlanDocument, { input: { name: 'X', price: 1 } }, null))).toBe('UNAUTHENTICATED');
    expect(codeOf(await s.gql(UpdatePlanDocument, { id: someId, input: { name: 'X' } }, null))).toBe('UNAUTHENTICATED');
    expect(codeOf(await s.gql(SetCustomerGroupDocument, { customerId: 'x', group: 'gold' }, null))).toBe('UNAUTHENTICATED');
  });

  test('refused mutations changed nothing', async () => {
    expect((await s.sql('select count(*)::int as n from plan'))[0].n).toBe(before);
    expect((await s.sql(`select count(*)::int as n from plan where name in ('Valid', 'X')`))[0].n).toBe(1); // the provider's plan only
  });
});

describe('N+1', () => {
  test('plans { upgrades } costs the same bounded number of SQL queries for 1 plan and for 20', async () => {
    const queries: string[] = [];
    const q = await startTestServer({ RUN_WORKER: 'false' }, { app: { orm: { onQuery: (sql) => queries.push(sql) } } });
    try {
      const admin2 = await token(`admin-${randomUUID()}`, 'admin');
      const measure = async () => {
        queries.length = 0;
        const r = await q.gql(PlansDocument, {}, null);
        expect(r.errors).toBeUndefined();
        return { count: queries.length, plans: r.data!.plans };
      };
      const add = (i: number) =>
        q.gql(CreatePlanDocument, { input: { name: `n1-${i}`, price: 100 + i, upgrades: [{ name: 'A', price: 1 }, { name: 'B', price: 2 }] } }, admin2);
      await add(0);
      const one = await measure();
      for (let i = 1; i < 20; i++) expect((await add(i)).errors).toBeUndefined();
      const twenty = await measure();
      expect(one.plans).toHaveLength(1);
      expect(twenty.plans).toHaveLength(20);
      expect(twenty.plans.every((p) => p.upgrades.length === 2)).toBe(true);
      console.log(`plans { upgrades }: ${one.count} SQL queries for 1 plan, ${twenty.count} for 20`);
      expect(one.count).toBeGreaterThan(0); // the observer sees the queries at all
      expect(twenty.count).toBe(one.count);
      expect(twenty.count).toBeLessThanOrEqual(3);
    } finally {
      await q.stop();
    }
  });
});
