import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { STRIPE_MAX_RETRIES, STRIPE_TIMEOUT_MS } from '../../src/infra/stripe';
import { codeOf, startTestServer, token, type TestServer } from '../support/server';
import { STRIPE_TEST_KEYS } from '../support/stripe-stub';

/**
 * Stripe that accepts connections and never answers (a hung load balancer, a black-holed route): the
 * mutation must still end, with PAYMENT_GATEWAY_UNAVAILABLE, within the SDK's bounded timeouts and
 * retries, and leave the order as it was.
 */
jest.setTimeout(60_000);

let s: TestServer;
let blackhole: net.Server;
const sockets = new Set<net.Socket>();
let accepted = 0;

beforeAll(async () => {
  blackhole = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(blackhole.address() as net.AddressInfo).port}`;
  s = await startTestServer({ ...STRIPE_TEST_KEYS, STRIPE_API_URL: url, RUN_WORKER: 'false' });
});
afterAll(async () => {
  await s?.stop();
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((r) => blackhole.close(() => r()));
});

test('a gateway that never answers: PAYMENT_GATEWAY_UNAVAILABLE within the bound, order unchanged', async () => {
  const admin = await token(`admin-${randomUUID()}`, 'admin');
  const customer = await token(`cust-${randomUUID()}`);
  const plan = await s.gql(`mutation { createPlan(input: { name: "Hung gateway", price: 900 }) { id } }`, {}, admin);
  const order = await s.gql(`mutation($i: CreateOrderInput!) { createOrder(input: $i) { id version } }`, { i: { planId: plan.data.createPlan.id } }, customer);
  const orderId = order.data.createOrder.id;

  const started = Date.now();
  const r = await s.gql(`mutation($o: ID!) { payWithGateway(orderId: $o) { checkoutUrl } }`, { o: orderId }, customer);
  const took = Date.now() - started;

  expect(codeOf(r)).toBe('PAYMENT_GATEWAY_UNAVAILABLE');
  expect(r.data ?? null).toBeNull();
  // Every attempt was made and timed out; the whole call is bounded by attempts × timeout plus backoff.
  expect(accepted).toBe(STRIPE_MAX_RETRIES + 1);
  const bound = (STRIPE_MAX_RETRIES + 1) * STRIPE_TIMEOUT_MS + 3_000;
  expect(took).toBeGreaterThanOrEqual((STRIPE_MAX_RETRIES + 1) * STRIPE_TIMEOUT_MS - 500);
  expect(took).toBeLessThan(bound);
  console.log(`hung gateway: answered after ${took} ms (${accepted} attempts of ${STRIPE_TIMEOUT_MS} ms)`);

  const after = await s.gql(`query($o: ID!) { order(id: $o) { status version paymentMethod } }`, { o: orderId }, customer);
  expect(after.data.order).toEqual({ status: 'PENDING', version: order.data.createOrder.version, paymentMethod: null });
});
