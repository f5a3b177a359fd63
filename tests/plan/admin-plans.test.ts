import { randomUUID } from 'node:crypto';
import {
  AllPlansDocument,
  CreateOrderDocument,
  CreatePlanDocument,
  PlanGroupsDocument,
  PlansWithGroupsDocument,
  UpdatePlanDocument,
  type CreatePlanInput,
} from '../__generated__/graphql';
import { adminToken, expectCode, ok } from '../support/backoffice';
import { startTestServer, token, type TestServer } from '../support/server';

let s: TestServer;
let admin: string;
beforeAll(async () => {
  s = await startTestServer();
  admin = await adminToken();
});
afterAll(() => s.stop());

async function createPlan(input: Partial<CreatePlanInput> = {}): Promise<string> {
  return ok(await s.gql(CreatePlanDocument, { input: { name: `Plan ${randomUUID().slice(0, 6)}`, price: 1000, ...input } }, admin)).createPlan.id;
}

describe('allPlans (admin) and Plan.groups', () => {
  test('every plan whatever its sale status and groups, oldest first; saleStatus narrows', async () => {
    const onSale = await createPlan({ groups: [] });
    const vip = await createPlan({ groups: ['vip', 'partners'] });
    const hidden = await createPlan({ saleStatus: 'HIDDEN' });
    const retired = await createPlan();
    ok(await s.gql(UpdatePlanDocument, { id: retired, input: { saleStatus: 'RETIRED' } }, admin));
    const mine = [onSale, vip, hidden, retired];

    const everyPlan = ok(await s.gql(AllPlansDocument, {}, admin)).allPlans;
    expect(everyPlan.map((p) => p.id).filter((id) => mine.includes(id))).toEqual(mine);
    const [{ n }] = await s.sql<{ n: number }>(`select count(*)::int as n from plan`);
    expect(everyPlan).toHaveLength(n);
    expect(everyPlan.find((p) => p.id === vip)).toMatchObject({ saleStatus: 'ON_SALE', groups: ['vip', 'partners'] });
    expect(everyPlan.find((p) => p.id === onSale)!.groups).toEqual([]);
    expect(everyPlan.find((p) => p.id === retired)!.saleStatus).toBe('RETIRED');

    for (const status of ['ON_SALE', 'HIDDEN', 'RETIRED'] as const) {
      const listed = ok(await s.gql(AllPlansDocument, { saleStatus: status }, admin)).allPlans;
      expect(listed.every((p) => p.saleStatus === status)).toBe(true);
      expect(listed.length).toBeGreaterThan(0);
    }
    expect(ok(await s.gql(AllPlansDocument, { saleStatus: 'HIDDEN' }, admin)).allPlans.map((p) => p.id)).toContain(hidden);
    expect(ok(await s.gql(AllPlansDocument, { saleStatus: 'ON_SALE' }, admin)).allPlans.map((p) => p.id)).not.toContain(retired);
  });

  test('allPlans is FORBIDDEN to customers and providers, UNAUTHENTICATED without a token', async () => {
    expectCode(await s.gql(AllPlansDocument, {}, await token(`cust-${randomUUID()}`)), 'FORBIDDEN');
    expectCode(await s.gql(AllPlansDocument, {}, await token(`prov-${randomUUID()}`, 'provider')), 'FORBIDDEN');
    expectCode(await s.gql(AllPlansDocument, {}, null), 'UNAUTHENTICATED');
  });

  test('groups: admins see them on plans, plan and allPlans; customers and anonymous callers get null', async () => {
    const id = await createPlan({ groups: ['default', 'gold'] });
    const customer = await token(`cust-${randomUUID()}`);
    const groupsIn = (r: { plans: Array<{ id: string; groups?: string[] | null }> }) => r.plans.find((p) => p.id === id)?.groups;

    // Both orders of asking, in the same customer group, so a listing kept for one is never served to the other.
    expect(groupsIn(ok(await s.gql(PlansWithGroupsDocument, {}, customer)))).toBeNull();
    expect(groupsIn(ok(await s.gql(PlansWithGroupsDocument, {}, admin)))).toEqual(['default', 'gold']);
    expect(groupsIn(ok(await s.gql(PlansWithGroupsDocument, {}, customer)))).toBeNull();
    expect(groupsIn(ok(await s.gql(PlansWithGroupsDocument, {}, null)))).toBeNull();
    ok(await s.gql(UpdatePlanDocument, { id, input: { groups: ['default'] } }, admin));
    expect(groupsIn(ok(await s.gql(PlansWithGroupsDocument, {}, admin)))).toEqual(['default']);
    expect(groupsIn(ok(await s.gql(PlansWithGroupsDocument, {}, customer)))).toBeNull();
    expect(groupsIn(ok(await s.gql(PlansWithGroupsDocument, {}, admin)))).toEqual(['default']);

    expect(ok(await s.gql(PlanGroupsDocument, { id }, admin)).plan).toEqual({ id, groups: ['default'] });
    expect(ok(await s.gql(PlanGroupsDocument, { id }, customer)).plan).toEqual({ id, groups: null });
    expect(ok(await s.gql(PlanGroupsDocument, { id }, await token(`prov-${randomUUID()}`, 'provider'))).plan).toEqual({ id, groups: null });
  });
});

describe('RETIRED is for good (contract: "Withdrawn for good.")', () => {
  const retiredPlan = async (): Promise<string> => {
    const id = await createPlan({ name: `Old ${randomUUID().slice(0, 6)}` });
    expect(ok(await s.gql(UpdatePlanDocument, { id, input: { saleStatus: 'RETIRED' } }, admin)).updatePlan.saleStatus).toBe('RETIRED');
    return id;
  };
  const stored = async (id: string) => (await s.sql(`select name, sale_status from plan where id = $1`, [id]))[0];
  const audited = async (id: string) => (await s.sql<{ n: number }>(`select count(*)::int as n from audit_entry where target_id = $1`, [id]))[0].n;

  test.each(['ON_SALE', 'HIDDEN'] as const)('a RETIRED plan cannot be made %s: BAD_USER_INPUT naming saleStatus, nothing changed or audited', async (saleStatus) => {
    const id = await retiredPlan();
    const before = { plan: await stored(id), audited: await audited(id) };
    const r = await s.gql(UpdatePlanDocument, { id, input: { saleStatus, name: 'Sold again' } }, admin);
    expect(expectCode(r, 'BAD_USER_INPUT').field).toBe('saleStatus');
    expect({ plan: await stored(id), audited: await audited(id) }).toEqual(before);
    // Still withdrawn: hidden from customers (NOT_FOUND, as any plan they cannot see) and not on sale to admins.
    expectCode(await s.gql(CreateOrderDocument, { input: { planId: id } }, await token(`cust-${randomUUID()}`)), 'NOT_FOUND');
    expectCode(await s.gql(CreateOrderDocument, { input: { planId: id } }, admin), 'PLAN_NOT_AVAILABLE');
  });

  test('a RETIRED plan can be set RETIRED again and its other fields changed', async () => {
    const id = await retiredPlan();
    expect(ok(await s.gql(UpdatePlanDocument, { id, input: { saleStatus: 'RETIRED', name: 'Old, renamed' } }, admin)).updatePlan).toMatchObject({ name: 'Old, renamed', saleStatus: 'RETIRED' });
    expect(ok(await s.gql(UpdatePlanDocument, { id, input: { price: 700 } }, admin)).updatePlan).toMatchObject({ price: { amount: 700 }, saleStatus: 'RETIRED' });
  });
});
