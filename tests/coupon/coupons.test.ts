import {
  CouponDocument,
  CouponPreviewDocument,
  CreateCouponDocument,
  SetCouponEnabledDocument,
  type CreateCouponInput,
} from '../__generated__/graphql';
import { readTestEnv } from '../support/env';
import { adminToken, counters, createCoupon, createOrder, createPlan, expectError, newCode, newCustomer, rowCounts } from '../support/orders';
import { codeOf, startTestServer, token, type TestServer } from '../support/server';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.stop());

const HOUR = 3600_000;
const iso = (ms: number) => new Date(Date.now() + ms).toISOString();

describe('coupon administration', () => {
  test('an admin creates, reads and disables a coupon; the code is stored trimmed', async () => {
    const plan = await createPlan(s);
    const code = newCode('Save');
    const created = await s.gql(
      CreateCouponDocument,
      { input: { code: `  ${code} `, kind: 'FIXED', value: 500, maxUses: 10, maxUsesPerUser: 2, minAmount: 1000, planIds: [plan.id], startsAt: iso(-HOUR), endsAt: iso(HOUR) } },
      await adminToken(),
    );
    expect(created.errors).toBeUndefined();
    expect(created.data!.createCoupon).toMatchObject({ code, kind: 'FIXED', value: 500, maxUses: 10, maxUsesPerUser: 2, minAmount: 1000, usedCount: 0, enabled: true });
    const id = created.data!.createCoupon.id;
    const off = await s.gql(SetCouponEnabledDocument, { id, enabled: false }, await adminToken());
    expect(off.data!.setCouponEnabled).toEqual({ id, enabled: false });
    const read = await s.gql(CouponDocument, { id }, await adminToken());
    expect(read.data!.coupon).toMatchObject({ id, code, usedCount: 0, enabled: false });
  });

  test('codes are unique ignoring case and surrounding spaces', async () => {
    const code = newCode('Dup');
    await createCoupon(s, { code });
    const before = await rowCounts(s);
    const r = await s.gql(CreateCouponDocument, { input: { code: `  ${code.toLowerCase()}  `, kind: 'PERCENT', value: 5 } }, await adminToken());
    expect(expectError(r, 'BAD_USER_INPUT').field).toBe('code');
    expect(await rowCounts(s)).toEqual(before);
  });

  test('a plan id given in upper case names the same plan: the coupon applies to it, and the id twice is one plan', async () => {
    const plan = await createPlan(s);
    const other = await createPlan(s);
    const coupon = await createCoupon(s, { planIds: [plan.id.toUpperCase(), plan.id] });
    expect((await s.sql(`select plan_ids from coupon where id = $1`, [coupon.id]))[0]).toEqual({ plan_ids: [plan.id] });
    const customer = await token(newCustomer());
    expect((await createOrder(s, customer, { planId: plan.id, couponCode: coupon.code })).errors).toBeUndefined();
    expect(expectError(await createOrder(s, customer, { planId: other.id, couponCode: coupon.code }), 'COUPON_INVALID').rejection).toBe('NOT_APPLICABLE');
  });

  test('a code whose upper case is longer than the code ("ß" is "SS", "ﬃ" is "FFI") is created, unique ignoring case and found in any case', async () => {
    const admin = await adminToken();
    const suffix = newCode('-');
    const sharpS = `${'ß'.repeat(40)}${suffix}`;
    const created = await s.gql(CreateCouponDocument, { input: { code: sharpS, kind: 'FIXED', value: 100 } }, admin);
    expect(codeOf(created)).toBeUndefined();
    expect(created.data!.createCoupon.code).toBe(sharpS);
    // The same code in other letters: one "ß" written "ss", the rest in lower case.
    const sameCode = `${'ß'.repeat(39)}ss${suffix.toLowerCase()}`;
    const duplicate = await s.gql(CreateCouponDocument, { input: { code: sameCode, kind: 'FIXED', value: 100 } }, admin);
    expect(expectError(duplicate, 'BAD_USER_INPUT').field).toBe('code');
    expect(duplicate.errors![0].message).toMatch(/already exists/);

    // 64 characters, the longest code, three times as long in upper case.
    const ligatures = `${'ﬃ'.repeat(55)}${newCode('-')}`;
    expect(ligatures).toHaveLength(64);
    const longest = await s.gql(CreateCouponDocument, { input: { code: ligatures, kind: 'PERCENT', value: 10 } }, admin);
    expect(codeOf(longest)).toBeUndefined();
    expect(longest.data!.createCoupon.code).toBe(ligatures);

    const plan = await createPlan(s, { price: 1000 });
    const tok = await token(newCustomer());
    for (const typed of [sharpS.toLowerCase(), ` ${sameCode} `]) {
      const p = await s.gql(CouponPreviewDocument, { code: typed, planId: plan.id }, tok);
      expect([typed, p.data?.couponPreview]).toEqual([typed, expect.objectContaining({ valid: true, discount: { amount: 100 } })]);
    }
    const order = await createOrder(s, tok, { planId: plan.id, couponCode: ligatures.toLowerCase() });
    expect(order.errors).toBeUndefined();
    expect(order.data!.createOrder.discount.amount).toBe(100);
  });

  const bad: Array<[string, Partial<CreateCouponInput>, string]> = [
    ['empty code', { code: '   ' }, 'code'],
    ['65-character code', { code: 'X'.repeat(65) }, 'code'],
    ['code with a control character', { code: 'C\u0001' }, 'code'],
    ['10 kB code', { code: 'X'.repeat(10_240) }, 'code'],
    ['PERCENT above 100', { kind: 'PERCENT', value: 101 }, 'value'],
    ['PERCENT 0', { kind: 'PERCENT', value: 0 }, 'value'],
    ['FIXED 0', { kind: 'FIXED', value: 0 }, 'value'],
    ['negative FIXED', { kind: 'FIXED', value: -5 }, 'value'],
    ['endsAt before startsAt', { startsAt: iso(HOUR), endsAt: iso(-HOUR) }, 'endsAt'],
    ['endsAt equal to startsAt', { startsAt: '2030-01-01T00:00:00.000Z', endsAt: '2030-01-01T00:00:00.000Z' }, 'endsAt'],
    ['maxUses 0', { maxUses: 0 }, 'maxUses'],
    ['maxUsesPerUser 0', { maxUsesPerUser: 0 }, 'maxUsesPerUser'],
    ['negative minAmount', { minAmount: -1 }, 'minAmount'],
    ['unknown plan id', { planIds: ['00000000-0000-4000-8000-000000000000'] }, 'planIds'],
    ['non-UUID plan id', { planIds: ['plan-1'] }, 'planIds'],
  ];
  test.each(bad)('%s -> BAD_USER_INPUT naming the field, nothing stored', async (_name, patch, field) => {
    const before = await rowCounts(s);
    const r = await s.gql(CreateCouponDocument, { input: { code: newCode(), kind: 'PERCENT', value: 10, ...patch } }, await adminToken());
    expect(expectError(r, 'BAD_USER_INPUT').field).toBe(field);
    expect(await rowCounts(s)).toEqual(before);
  });

  test('customers may not administer coupons; unknown ids are NOT_FOUND', async () => {
    const c = await createCoupon(s);
    const cust = await token(newCustomer());
    expect(codeOf(await s.gql(CreateCouponDocument, { input: { code: newCode(), kind: 'PERCENT', value: 5 } }, cust))).toBe('FORBIDDEN');
    expect(codeOf(await s.gql(SetCouponEnabledDocument, { id: c.id, enabled: false }, cust))).toBe('FORBIDDEN');
    expect(codeOf(await s.gql(CouponDocument, { id: c.id }, cust))).toBe('FORBIDDEN');
    expect(codeOf(await s.gql(CouponDocument, { id: c.id }, null))).toBe('UNAUTHENTICATED');
    const admin = await adminToken();
    expect(codeOf(await s.gql(CouponDocument, { id: '00000000-0000-4000-8000-000000000000' }, admin))).toBe('NOT_FOUND');
    expect(codeOf(await s.gql(CouponDocument, { id: 'not-a-uuid' }, admin))).toBe('NOT_FOUND');
    expect(codeOf(await s.gql(SetCouponEnabledDocument, { id: 'not-a-uuid', enabled: true }, admin))).toBe('NOT_FOUND');
  });
});

describe('every rejection, through couponPreview and createOrder', () => {
  /** Each case sets up a coupon that the returned customer cannot use on the returned plan. */
  const cases: Array<[string, () => Promise<{ code: string; planId: string; customer: string }>]> = [
    ['NOT_FOUND', async () => ({ code: newCode('NONE'), planId: (await createPlan(s)).id, customer: newCustomer() })],
    ['NOT_STARTED', async () => ({ code: (await createCoupon(s, { startsAt: iso(HOUR) })).code, planId: (await createPlan(s)).id, customer: newCustomer() })],
    ['EXPIRED', async () => ({ code: (await createCoupon(s, { startsAt: iso(-2 * HOUR), endsAt: iso(-HOUR) })).code, planId: (await createPlan(s)).id, customer: newCustomer() })],
    [
      'DISABLED',
      async () => {
        const c = await createCoupon(s);
        await s.gql(SetCouponEnabledDocument, { id: c.id, enabled: false }, await adminToken());
        return { code: c.code, planId: (await createPlan(s)).id, customer: newCustomer() };
      },
    ],
    [
      'USAGE_LIMIT_REACHED',
      async () => {
        const c = await createCoupon(s, { maxUses: 1 });
        const plan = await createPlan(s);
        expect((await createOrder(s, await token(newCustomer()), { planId: plan.id, couponCode: c.code })).errors).toBeUndefined();
        return { code: c.code, planId: plan.id, customer: newCustomer() };
      },
    ],
    [
      'PER_USER_LIMIT_REACHED',
      async () => {
        const c = await createCoupon(s, { maxUsesPerUser: 1 });
        const plan = await createPlan(s);
        const customer = newCustomer();
        expect((await createOrder(s, await token(customer), { planId: plan.id, couponCode: c.code })).errors).toBeUndefined();
        return { code: c.code, planId: plan.id, customer };
      },
    ],
    ['MIN_AMOUNT_NOT_MET', async () => ({ code: (await createCoupon(s, { minAmount: 1001 })).code, planId: (await createPlan(s, { price: 1000 })).id, customer: newCustomer() })],
    [
      'NOT_APPLICABLE',
      async () => {
        const other = await createPlan(s);
        return { code: (await createCoupon(s, { planIds: [other.id] })).code, planId: (await createPlan(s)).id, customer: newCustomer() };
      },
    ],
  ];

  test.each(cases)('%s', async (rejection, setup) => {
    const { code, planId, customer } = await setup();
    const tok = await token(customer);
    const before = await rowCounts(s);
    const p = await s.gql(CouponPreviewDocument, { code, planId }, tok);
    expect(p.errors).toBeUndefined();
    // Amounts are the plan's own (price 1000, tax 15%), as without the coupon.
    expect(p.data!.couponPreview).toMatchObject({
      valid: false,
      rejection,
      subtotal: { amount: 1000 },
      discount: { amount: 0 },
      tax: { amount: 150 },
      total: { amount: 1150 },
    });
    expect(p.data!.couponPreview.message.length).toBeGreaterThan(10);
    expect(await rowCounts(s)).toEqual(before); // a preview reserves nothing

    const o = await createOrder(s, tok, { planId, couponCode: code });
    expect(expectError(o, 'COUPON_INVALID').rejection).toBe(rejection);
    expect(o.errors![0].message).toBe(p.data!.couponPreview.message); // the same sentence as the preview
    expect(await rowCounts(s)).toEqual(before);
  });

  test('a valid preview takes nothing: usedCount and per-customer uses stay as they were', async () => {
    const c = await createCoupon(s, { maxUses: 1, maxUsesPerUser: 1 });
    const plan = await createPlan(s);
    const customer = newCustomer();
    const tok = await token(customer);
    for (let i = 0; i < 3; i++) expect((await s.gql(CouponPreviewDocument, { code: c.code, planId: plan.id }, tok)).data!.couponPreview.valid).toBe(true);
    expect(await counters(s, { couponId: c.id, customerId: customer })).toMatchObject({ couponUsed: 0, customerUses: 0 });
    expect((await createOrder(s, tok, { planId: plan.id, couponCode: c.code })).errors).toBeUndefined();
  });

  test('couponPreview needs a token, a plan the caller can see and a sane code', async () => {
    const plan = await createPlan(s);
    const tok = await token(newCustomer());
    expect(codeOf(await s.gql(CouponPreviewDocument, { code: 'X', planId: plan.id }, null))).toBe('UNAUTHENTICATED');
    expect(codeOf(await s.gql(CouponPreviewDocument, { code: 'X', planId: '00000000-0000-4000-8000-000000000000' }, tok))).toBe('NOT_FOUND');
    expect(codeOf(await s.gql(CouponPreviewDocument, { code: 'X', planId: 'nope' }, tok))).toBe('NOT_FOUND');
    expect(codeOf(await s.gql(CouponPreviewDocument, { code: 'X'.repeat(10_240), planId: plan.id }, tok))).toBe('BAD_USER_INPUT');
    expect(codeOf(await s.gql(CouponPreviewDocument, { code: '  ', planId: plan.id }, tok))).toBe('BAD_USER_INPUT');
    expect(codeOf(await s.gql(CouponPreviewDocument, { code: 'X', planId: plan.id, upgradeIds: ['nope'] }, tok))).toBe('BAD_USER_INPUT');
  });
});

describe('couponPreview rate limit', () => {
  test('in-process store: the 4th call within the window is RATE_LIMITED with limit and window; others are unaffected', async () => {
    const limited = await startTestServer({ COUPON_PREVIEW_RATE_LIMIT: '3', RATE_LIMIT_WINDOW_SECONDS: '60' }, { databaseUrl: s.databaseUrl });
    try {
      const plan = await createPlan(limited);
      const tok = await token(newCustomer());
      for (let i = 0; i < 3; i++) expect((await limited.gql(CouponPreviewDocument, { code: 'ANY', planId: plan.id }, tok)).errors).toBeUndefined();
      const fourth = await limited.gql(CouponPreviewDocument, { code: 'ANY', planId: plan.id }, tok);
      expect(expectError(fourth, 'RATE_LIMITED')).toMatchObject({ limit: 3, window: 60 });
      expect((await limited.gql(CouponPreviewDocument, { code: 'ANY', planId: plan.id }, await token(newCustomer()))).errors).toBeUndefined();
    } finally {
      await limited.stop();
    }
  });

  const redisUrl = readTestEnv().redisUrl;
  (redisUrl ? test : test.skip)('Redis store: the limit holds across two instances', async () => {
    const env = { COUPON_PREVIEW_RATE_LIMIT: '3', RATE_LIMIT_WINDOW_SECONDS: '60', REDIS_URL: redisUrl! };
    const a = await startTestServer(env, { databaseUrl: s.databaseUrl });
    const b = await startTestServer(env, { databaseUrl: s.databaseUrl });
    try {
      const plan = await createPlan(a);
      const tok = await token(newCustomer());
      for (const server of [a, b, a]) expect((await server.gql(CouponPreviewDocument, { code: 'ANY', planId: plan.id }, tok)).errors).toBeUndefined();
      const fourth = await b.gql(CouponPreviewDocument, { code: 'ANY', planId: plan.id }, tok);
      expect(expectError(fourth, 'RATE_LIMITED')).toMatchObject({ limit: 3, window: 60 });
      expect(codeOf(await a.gql(CouponPreviewDocument, { code: 'ANY', planId: plan.id }, tok))).toBe('RATE_LIMITED');
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
