import { randomUUID } from 'node:crypto';
import {
  CancelOrderDocument,
  CreateOrderDocument,
  CreatePlanDocument,
  CreditWalletDocument,
  MyWalletDocument,
  PayWithGatewayDocument,
  PayWithWalletDocument,
  RefundOrderDocument,
} from '../__generated__/graphql';
import { codeOf, token, type TestServer } from './server';

/** A customer of the tests: its id and a token for it. */
export interface TestCustomer {
  id: string;
  token: string;
}

/** An order as the payment tests need it. */
export interface TestOrder {
  id: string;
  total: number;
  version: number;
}

/** The operations of tests/operations/*.graphql the payment tests use, typed by codegen. */
export const CREATE_PLAN = CreatePlanDocument;
export const CREATE_ORDER = CreateOrderDocument;
export const CANCEL_ORDER = CancelOrderDocument;
export const CREDIT = CreditWalletDocument;
export const WALLET = MyWalletDocument;
export const PAY_WALLET = PayWithWalletDocument;
export const PAY_GATEWAY = PayWithGatewayDocument;
export const REFUND = RefundOrderDocument;

/** An admin token of the tests. */
export const adminToken = (): Promise<string> => token('admin-payments', 'admin');

/** A new customer (row created by its first request) with a token. */
export async function newCustomer(s: TestServer, prefix = 'cust'): Promise<TestCustomer> {
  const id = `${prefix}-${randomUUID()}`.slice(0, 64);
  const t = await token(id);
  const r = await s.gql(`{ me { id } }`, {}, t);
  if (r.errors) throw new Error(`customer ${id}: ${JSON.stringify(r.errors)}`);
  return { id, token: t };
}

/**
 * A plan delivered by a provider (its orders stay PAID until the provider acts, so payment tests see
 * escrow held), with the provider's customer created first.
 */
export async function createProviderPlan(s: TestServer, price: number): Promise<{ planId: string; provider: TestCustomer }> {
  const id = `prov-${randomUUID()}`;
  const t = await token(id, 'provider');
  const r = await s.gql(`{ me { id } }`, {}, t);
  if (r.errors) throw new Error(`provider ${id}: ${JSON.stringify(r.errors)}`);
  return { planId: await createPlan(s, price, { providerId: id }), provider: { id, token: t } };
}

/** Creates an ON_SALE plan (as admin) and returns its id. */
export async function createPlan(s: TestServer, price: number, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await s.gql(CREATE_PLAN, { input: { name: `Plan ${randomUUID().slice(0, 8)}`, price, ...extra } }, await adminToken());
  if (r.errors) throw new Error(`createPlan: ${JSON.stringify(r.errors)}`);
  return r.data!.createPlan.id;
}

/** A PENDING order of `customer` for `planId`, through the `createOrder` mutation (the real path). */
export async function createOrder(s: TestServer, customer: TestCustomer, planId: string): Promise<TestOrder> {
  const r = await s.gql(CREATE_ORDER, { input: { planId } }, customer.token);
  if (r.errors) throw new Error(`createOrder: ${JSON.stringify(r.errors)}`);
  const o = r.data!.createOrder;
  return { id: o.id, total: o.total.amount, version: o.version };
}

/** Cancels an order as its customer through `cancelOrder`; returns the error code, if any. */
export async function cancelOrder(s: TestServer, customer: TestCustomer, orderId: string): Promise<string | undefined> {
  return codeOf(await s.gql(CANCEL_ORDER, { orderId }, customer.token));
}

/** Credits a customer's wallet as admin; returns the new balance. */
export async function credit(s: TestServer, customerId: string, amount: number, reference = `ref-${randomUUID()}`): Promise<number> {
  const r = await s.gql(CREDIT, { customerId, amount, reference }, await adminToken());
  if (r.errors) throw new Error(`creditWallet: ${JSON.stringify(r.errors)}`);
  return r.data!.creditWallet.balance.amount;
}

/** The order row as stored. */
export async function orderRow(s: TestServer, orderId: string): Promise<{ status: string; version: number; payment_method: string | null; expires_at: Date | null }> {
  const [row] = await s.sql(`select status, version, payment_method, expires_at from "order" where id = $1`, [orderId]);
  return row;
}

/** A wallet's balance as stored (0 without a row). */
export async function balanceOf(s: TestServer, customerId: string): Promise<number> {
  const [row] = await s.sql<{ balance: string }>(`select balance from wallet where customer_id = $1`, [customerId]);
  return row ? Number(row.balance) : 0;
}
