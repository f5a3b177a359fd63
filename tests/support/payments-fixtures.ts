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
import { codeOf, startTestServer, token, type TestServer } from './server';
import { postWebhook, startStripeStub, STRIPE_TEST_KEYS, type StripeStub } from './stripe-stub';

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

/** A test server that pays through the Stripe stub, and a provider's plan to order (see {@link GATEWAY_PLAN_TOTAL}). */
export interface GatewayServer {
  stub: StripeStub;
  s: TestServer;
  planId: string;
  /** Lets held refund answers go, then stops the server and the stub. */
  stop(): Promise<void>;
}

/** An order's total for the plan of {@link startGatewayServer}: 2,000 plus 15% tax. */
export const GATEWAY_PLAN_TOTAL = 2300;

/**
 * Starts the Stripe stub and a test server with the Stripe test keys pointed at it (and `env`), and
 * makes a provider's plan of 2,000 (orders of it stay PAID until the provider acts, so money stays in
 * escrow). The stub is closed again if the server does not start.
 */
export async function startGatewayServer(env: Record<string, string> = {}): Promise<GatewayServer> {
  const stub = await startStripeStub();
  try {
    const s = await startTestServer({ ...STRIPE_TEST_KEYS, STRIPE_API_URL: stub.url, ...env });
    const { planId } = await createProviderPlan(s, 2000);
    const stop = async () => {
      stub.releaseRefunds();
      await s.stop();
      await stub.close();
    };
    return { stub, s, planId, stop };
  } catch (e) {
    await stub.close();
    throw e;
  }
}

/** Opens the Checkout Session of an order through `payWithGateway`, as its customer; returns the session id. */
export async function checkoutSessionOf(s: TestServer, customer: TestCustomer, orderId: string): Promise<string> {
  const r = await s.gql(PAY_GATEWAY, { orderId }, customer.token);
  if (r.errors) throw new Error(`payWithGateway: ${JSON.stringify(r.errors)}`);
  return r.data!.payWithGateway.checkoutUrl.split('/').pop()!;
}

/** A PENDING order of `customer` (a new one when not given) for `planId`, with its Checkout Session open. */
export async function openCheckout(s: TestServer, planId: string, customer?: TestCustomer): Promise<{ c: TestCustomer; order: TestOrder; sessionId: string }> {
  const c = customer ?? (await newCustomer(s));
  const order = await createOrder(s, c, planId);
  return { c, order, sessionId: await checkoutSessionOf(s, c, order.id) };
}

/**
 * The customer pays an open session at the stub and Stripe's `checkout.session.completed` reaches the
 * server, which must take it (200). Returns the PaymentIntent the payment carries.
 */
export async function completeCheckout(s: TestServer, stub: StripeStub, sessionId: string, paymentIntent = `pi_${randomUUID()}`): Promise<string> {
  const res = await postWebhook(s.url, stub.completeCheckout(sessionId, { paymentIntent }));
  if (res.status !== 200) throw new Error(`webhook: ${res.status}`);
  return paymentIntent;
}

/** An order of the gateway server's plan paid through Stripe (checkout, the customer pays, Stripe's event), with its PaymentIntent. */
export async function paidThroughGateway(g: Pick<GatewayServer, 's' | 'stub' | 'planId'>, customer?: TestCustomer): Promise<{ c: TestCustomer; order: TestOrder; pi: string }> {
  const { c, order, sessionId } = await openCheckout(g.s, g.planId, customer);
  return { c, order, pi: await completeCheckout(g.s, g.stub, sessionId) };
}
