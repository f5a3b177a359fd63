import { randomUUID } from 'node:crypto';
import {
  CreateCouponDocument,
  CreateOrderDocument,
  CreatePlanDocument,
  type CreateCouponInput,
  type CreateOrderInput,
  type CreatePlanInput,
} from '../__generated__/graphql';
import { PENDING_JOBS } from './jobs';
import { codeOf, token, type GqlResult, type TestServer } from './server';

/** A customer id no other test or run uses. */
export const newCustomer = (): string => `cust-${randomUUID()}`;

/** A unique coupon code. */
export const newCode = (prefix = 'C'): string => `${prefix}${randomUUID().slice(0, 8).toUpperCase()}`;

export const adminToken = (): Promise<string> => token(`admin-${randomUUID()}`, 'admin');

/** Creates a plan as an admin; fails the test on error. */
export async function createPlan(s: TestServer, input: Partial<CreatePlanInput> = {}) {
  const r = await s.gql(CreatePlanDocument, { input: { name: `Plan ${randomUUID().slice(0, 6)}`, price: 1000, ...input } }, await adminToken());
  if (r.errors) throw new Error(`createPlan failed: ${JSON.stringify(r.errors)}`);
  return r.data!.createPlan;
}

/** Creates a coupon as an admin; fails the test on error. */
export async function createCoupon(s: TestServer, input: Partial<CreateCouponInput> = {}) {
  const r = await s.gql(CreateCouponDocument, { input: { code: newCode(), kind: 'PERCENT', value: 10, ...input } }, await adminToken());
  if (r.errors) throw new Error(`createCoupon failed: ${JSON.stringify(r.errors)}`);
  return r.data!.createCoupon;
}

export function createOrder(s: TestServer, tok: string, input: CreateOrderInput) {
  return s.gql(CreateOrderDocument, { input }, tok);
}

/** Asserts the first error's code and returns its extensions. */
export function expectError(r: GqlResult, code: string): Record<string, any> {
  if (codeOf(r) !== code) throw new Error(`expected ${code}, got ${JSON.stringify(r.errors ?? r.data)}`);
  return r.errors![0].extensions!;
}

/** Counters that limits move, read straight from the database. */
export async function counters(s: TestServer, ids: { planId?: string; couponId?: string; customerId?: string }) {
  const [plan] = ids.planId ? await s.sql<{ stock_used: number }>(`select stock_used from plan where id = $1`, [ids.planId]) : [];
  const [coupon] = ids.couponId
    ? await s.sql<{ used_count: number }>(`select coalesce(sum(used), 0)::int as used_count from coupon_use where coupon_id = $1`, [ids.couponId])
    : [];
  const [customer] = ids.customerId ? await s.sql<{ unpaid_orders: number }>(`select unpaid_orders from customer where id = $1`, [ids.customerId]) : [];
  const [use] =
    ids.couponId && ids.customerId
      ? await s.sql<{ used: number }>(`select used from coupon_customer_use where coupon_id = $1 and customer_id = $2`, [ids.couponId, ids.customerId])
      : [];
  return { stockUsed: plan?.stock_used, couponUsed: coupon?.used_count, unpaid: customer?.unpaid_orders, customerUses: use?.used ?? 0 };
}

/** Row counts of the tables a failed request must leave alone. */
export async function rowCounts(s: TestServer) {
  const [r] = await s.sql(
    `select (select count(*)::int from "order") as orders, (select count(*)::int from coupon) as coupons,
            (select coalesce(sum(used), 0)::int from coupon_use) as coupon_uses, (select coalesce(sum(stock_used), 0)::int from plan) as stock_used,
            (select coalesce(sum(unpaid_orders), 0)::int from customer) as unpaid,
            (select count(*)::int from ${PENDING_JOBS}) as jobs`,
  );
  return r;
}
