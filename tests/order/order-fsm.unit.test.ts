/**
 * The order lifecycle's transition table (src/modules/order/order.fsm.ts) against CONTRACT.md,
 * Lifecycle, written out again here so a change to either shows. Services take the `from` states of
 * their guarded updates from this table, so `from` is checked as closely as `can`.
 */
import { OrderStatus } from '../../src/modules/order';
import { orderLifecycle } from '../../src/modules/order/order.fsm';

const { PENDING, PAID, DELIVERED, CANCELLED, REFUNDED } = OrderStatus;
const ALL = Object.values(OrderStatus);

/** The contract's moves: paid or cancelled while pending; delivered or refunded once paid; nothing after. */
const ALLOWED = new Set([`${PENDING}>${PAID}`, `${PENDING}>${CANCELLED}`, `${PAID}>${DELIVERED}`, `${PAID}>${REFUNDED}`]);

const pairs = ALL.flatMap((from) => ALL.map((to) => [from, to, ALLOWED.has(`${from}>${to}`)] as const));

test.each(pairs)('%s → %s allowed: %s', (from, to, allowed) => {
  expect(orderLifecycle.can(from, to)).toBe(allowed);
  const refused = new Error('refused');
  if (allowed) expect(() => orderLifecycle.assert(from, to, () => refused)).not.toThrow();
  else expect(() => orderLifecycle.assert(from, to, () => refused)).toThrow(refused);
});

test('the states a guarded update may start from, for each target', () => {
  expect(Object.fromEntries(ALL.map((to) => [to, orderLifecycle.from(to).sort()]))).toEqual({
    [PENDING]: [],
    [PAID]: [PENDING],
    [DELIVERED]: [PAID],
    [CANCELLED]: [PENDING],
    [REFUNDED]: [PAID],
  });
});

test('DELIVERED, CANCELLED and REFUNDED are final; PENDING and PAID can still change', () => {
  expect(orderLifecycle.open().sort()).toEqual([PAID, PENDING]);
});
