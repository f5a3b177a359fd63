import { FailedWebhookEventsDocument } from '../__generated__/graphql';
import { expectLedgerSound } from '../support/ledger-invariants';
import { adminToken, openCheckout, orderRow, startGatewayServer, type GatewayServer } from '../support/payments-fixtures';
import { codeOf, token, type TestServer } from '../support/server';
import { checkoutEvent, postWebhook } from '../support/stripe-stub';
import { until } from '../support/until';

/**
 * A verified Stripe event whose processing fails is not answered 5xx until Stripe gives up: it is kept
 * in the inbox with its error, answered 2xx, retried by a job with backoff (5 s, then doubling), and
 * listed for admins while it keeps failing.
 */
jest.setTimeout(90_000);

let gateway: GatewayServer;
let s: TestServer;
let planId: string;

beforeAll(async () => {
  gateway = await startGatewayServer();
  ({ s, planId } = gateway);
});
afterAll(async () => {
  await s.sql(`drop trigger if exists refuse_charges on gateway_charge`);
  await expectLedgerSound((text, params) => s.sql(text, params));
  await gateway?.stop();
});

/** A pending order with its Checkout Session, and the paid event Stripe sends for it. */
async function paidEvent() {
  const { order, sessionId } = await openCheckout(s, planId);
  return { order, event: checkoutEvent({ id: sessionId, amount_total: order.total, currency: 'usd', orderId: order.id }) as { id: string; type: string } };
}

const failures = async () => {
  const r = await s.gql(FailedWebhookEventsDocument, {}, await adminToken());
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data!.failedWebhookEvents;
};

test('an event that fails every time is answered 200, kept with its error, retried with backoff, and listed for admins only', async () => {
  const { order, event } = await paidEvent();
  // The database refuses this order's charge, the same way every time.
  await s.sql(`create or replace function refuse_charge_of_one() returns trigger language plpgsql as $$ begin if new.order_id = '${order.id}' then raise exception 'this charge is refused every time'; end if; return new; end $$`);
  await s.sql(`create trigger refuse_charge_of_one before insert on gateway_charge for each row execute function refuse_charge_of_one()`);
  try {
    const res = await postWebhook(s.url, event);
    expect(res).toMatchObject({ status: 200, body: { received: true, outcome: 'deferred' } });
    expect(await orderRow(s, order.id)).toMatchObject({ status: 'PENDING', version: 1 });

    const [row] = await s.sql(`select status, error, attempts, payload->>'id' as payload_id, next_attempt_at > now() as later from gateway_event where id = $1`, [event.id]);
    expect(row).toEqual({ status: 'FAILED', error: expect.stringMatching(/refused every time/), attempts: 1, payload_id: event.id, later: true });
    const listed = (await failures()).find((f) => f.id === event.id);
    expect(listed).toEqual({
      id: event.id,
      type: 'checkout.session.completed',
      error: expect.stringMatching(/refused every time/),
      attempts: 1,
      receivedAt: expect.any(String),
      lastTriedAt: expect.any(String),
      nextTryAt: expect.any(String),
    });

    // Stripe delivering it again changes nothing: the stored event is the retry job's.
    expect(await postWebhook(s.url, event)).toMatchObject({ status: 200, body: { outcome: 'duplicate' } });

    // The job tries again after the backoff, fails the same way, and schedules the next try later.
    const second = await until('the first retry', async () => (await failures()).find((f) => f.id === event.id && f.attempts === 2), 30_000);
    expect(new Date(second.nextTryAt!).getTime()).toBeGreaterThan(new Date(listed!.nextTryAt!).getTime());
    expect(second.error).toMatch(/refused every time/);
    expect(await orderRow(s, order.id)).toMatchObject({ status: 'PENDING', version: 1 });

    // Only admins see the list.
    const customer = await s.gql(FailedWebhookEventsDocument, {}, await token('someone'));
    expect(codeOf(customer)).toBe('FORBIDDEN');
    expect(codeOf(await s.gql(FailedWebhookEventsDocument, {}, await token('prov', 'provider')))).toBe('FORBIDDEN');
    expect(codeOf(await s.gql(FailedWebhookEventsDocument, {}, null))).toBe('UNAUTHENTICATED');
  } finally {
    await s.sql(`drop trigger if exists refuse_charge_of_one on gateway_charge`);
  }
});

test('an event that fails for a while is applied by its retry: the order is paid once and the event leaves the list', async () => {
  const { order, event } = await paidEvent();
  // The database refuses charges for now (a constraint being fixed, a lock timeout…).
  await s.sql(`create or replace function refuse_charges() returns trigger language plpgsql as $$ begin raise exception 'charges are refused for now'; end $$`);
  await s.sql(`create trigger refuse_charges before insert on gateway_charge for each row execute function refuse_charges()`);
  try {
    const res = await postWebhook(s.url, event);
    expect(res).toMatchObject({ status: 200, body: { outcome: 'deferred' } });
    expect((await failures()).find((f) => f.id === event.id)).toMatchObject({ attempts: 1, error: expect.stringMatching(/refused for now/) });
  } finally {
    await s.sql(`drop trigger if exists refuse_charges on gateway_charge`);
  }
  await until('the retry to pay the order', async () => (await orderRow(s, order.id)).status === 'PAID', 30_000);
  expect(await orderRow(s, order.id)).toMatchObject({ status: 'PAID', version: 2, payment_method: 'GATEWAY' });
  expect(await s.sql(`select status, error, attempts from gateway_event where id = $1`, [event.id])).toEqual([{ status: 'PROCESSED', error: null, attempts: 2 }]);
  expect((await failures()).find((f) => f.id === event.id)).toBeUndefined();
  expect(await s.sql(`select 1 from payment where order_id = $1`, [order.id])).toHaveLength(1);
  expect(await postWebhook(s.url, event)).toMatchObject({ status: 200, body: { outcome: 'duplicate' } });
});
