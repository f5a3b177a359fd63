import { randomUUID } from 'node:crypto';
import {
  AdminCouponsDocument,
  CreateCouponDocument,
  SetCouponEnabledDocument,
  type AdminCouponsQueryVariables,
} from '../__generated__/graphql';
import { MALFORMED_CURSORS, adminToken, expectCode, ok, readAll } from '../support/backoffice';
import { startTestServer, token, type TestServer } from '../support/server';

let s: TestServer;
let admin: string;
beforeAll(async () => {
  s = await startTestServer();
  admin = await adminToken();
});
afterAll(() => s.stop());

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
