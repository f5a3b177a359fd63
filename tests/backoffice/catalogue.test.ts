import { randomUUID } from 'node:crypto';
import {
  AdminCouponsDocument,
  AllPlansDocument,
  CreateCouponDocument,
  CreatePlanDocument,
  PlanGroupsDocument,
  PlansWithGroupsDocument,
  SetCouponEnabledDocument,
  UpdatePlanDocument,
  type AdminCouponsQueryVariables,
  type CreatePlanInput,
} from '../__generated__/graphql';
import { startTestServer, token, type TestServer } from '../support/server';
import { MALFORMED_CURSORS, adminToken, expectCode, ok, readAll } from './helpers';

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

async function createCoupon(): Promise<{ id: string; code: string }> {
  const code = `BO${randomUUID().slice(0, 8).toUpperCase()}`;
  return ok(await s.gql(CreateCouponDocument, { input: { code, kind: 'PERCENT', value: 5 } }, admin)).createCoupon;
}

const coupons = (variables: AdminCouponsQueryVariables, auth: string | null = admin) => s.gql(AdminCouponsDocument, variables, auth);

describe('coupons (admin)', () => {
  test('newest first; enabled narrows to the enabled or the disabled ones', async () => {
    const made: Array<{ id: string; code: string }> = [];
    for (let i = 0; i < 4; i++) made.push(await createCoupon());
    ok(await s.gql(SetCouponEnabledDocument, { id: made[1].id, enabled: false }, admin));
    const [a, b, c, d] = made.map((m) => m.id);
    const ours = (nodes: Array<{ id: string }>) => nodes.map((n) => n.id).filter((id) => made.some((m) => m.id === id));
    const page = ok(await coupons({})).coupons;
    expect(page.edges.slice(0, 4).map((e) => e.node.id)).toEqual([d, c, b, a]);
    expect(page.edges[0].node).toMatchObject({ id: d, code: made[3].code, enabled: true, usedCount: 0 });
    const enabled = ok(await coupons({ enabled: true, first: 100 })).coupons.edges.map((e) => e.node);
    expect(ours(enabled)).toEqual([d, c, a]);
    expect(enabled.every((n) => n.enabled)).toBe(true);
    const disabled = ok(await coupons({ enabled: false, first: 100 })).coupons.edges.map((e) => e.node);
    expect(ours(disabled)).toEqual([b]);
    expect(disabled.every((n) => !n.enabled)).toBe(true);
  });

  test('pages are stable while coupons are added', async () => {
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await createCoupon()).id);
    const atStart = [...made].reverse();
    const [{ n }] = await s.sql<{ n: number }>(`select count(*)::int as n from coupon`);
    const seen = (
      await readAll(
        async (after) => ok(await coupons({ first: 2, after })).coupons,
        async () => void made.push((await createCoupon()).id),
      )
    ).map((c) => c.id);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toHaveLength(n);
    expect(seen.filter((id) => made.includes(id))).toEqual(atStart);
    expect(made.length).toBeGreaterThan(atStart.length);
  });

  test('FORBIDDEN to customers, UNAUTHENTICATED without a token; bad first and cursors are BAD_USER_INPUT', async () => {
    expectCode(await coupons({}, await token(`cust-${randomUUID()}`)), 'FORBIDDEN');
    expectCode(await coupons({}, await token(`prov-${randomUUID()}`, 'provider')), 'FORBIDDEN');
    expectCode(await coupons({}, null), 'UNAUTHENTICATED');
    for (const first of [0, 101]) expect(expectCode(await coupons({ first }), 'BAD_USER_INPUT').field).toBe('first');
    for (const after of MALFORMED_CURSORS) expectCode(await coupons({ after }), 'BAD_USER_INPUT');
  });
});

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
