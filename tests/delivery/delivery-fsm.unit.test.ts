/**
 * The delivery lifecycle (src/modules/delivery/delivery.fsm.ts) against CONTRACT.md, Lifecycle: which
 * actor may make which change in which mode, written out again here as the contract tells it, and the
 * combined table the guarded updates take their `from` states from.
 */
import { DeliveryActor, DeliveryMode, deliveryLifecycle, deliveryMoves } from '../../src/modules/delivery/delivery.fsm';
import { DeliveryStatus } from '../../src/modules/order';

const { NEW, IN_PROGRESS, REVIEWING, COMPLETED, FAILED, CANCELLED } = DeliveryStatus;
const { AUTOMATIC, MANUAL } = DeliveryMode;
const { WORKER, PROVIDER, ADMIN } = DeliveryActor;
const ALL = Object.values(DeliveryStatus);

type Move = `${DeliveryStatus}>${DeliveryStatus}`;
const m = (from: DeliveryStatus, to: DeliveryStatus): Move => `${from}>${to}`;
/** An admin may cancel any unfinished delivery, whatever its mode (which refunds the order). */
const ADMIN_CANCELS: Move[] = [NEW, IN_PROGRESS, REVIEWING, FAILED].map((s) => m(s, CANCELLED));

/** What the contract lets each actor do in each mode; anything not listed is refused. */
const EXPECTED: Record<DeliveryMode, Record<DeliveryActor, Move[]>> = {
  [AUTOMATIC]: {
    // NEW → IN_PROGRESS → COMPLETED; each retried attempt stays IN_PROGRESS; FAILED after the last try.
    [WORKER]: [m(NEW, IN_PROGRESS), m(IN_PROGRESS, IN_PROGRESS), m(IN_PROGRESS, COMPLETED), m(IN_PROGRESS, FAILED)],
    [PROVIDER]: [],
    // An admin's retry starts a failed delivery again.
    [ADMIN]: [m(FAILED, NEW), ...ADMIN_CANCELS],
  },
  [MANUAL]: {
    [WORKER]: [],
    // NEW → IN_PROGRESS → REVIEWING → COMPLETED; a review may send the work back.
    [PROVIDER]: [m(NEW, IN_PROGRESS), m(IN_PROGRESS, REVIEWING), m(REVIEWING, IN_PROGRESS), m(REVIEWING, COMPLETED)],
    [ADMIN]: [m(NEW, IN_PROGRESS), m(IN_PROGRESS, REVIEWING), m(REVIEWING, IN_PROGRESS), m(REVIEWING, COMPLETED), ...ADMIN_CANCELS],
  },
};

const views = Object.values(DeliveryMode).flatMap((mode) => Object.values(DeliveryActor).map((actor) => [mode, actor] as const));

test.each(views)('%s delivery, %s: exactly the contract’s moves, every other pair refused', (mode, actor) => {
  const moves = deliveryMoves(mode, actor);
  const allowed = ALL.flatMap((from) => ALL.filter((to) => moves.can(from, to)).map((to) => m(from, to)));
  expect(allowed.sort()).toEqual([...EXPECTED[mode][actor]].sort());
});

test('the whole lifecycle is the union of every actor’s moves', () => {
  const union = new Set(views.flatMap(([mode, actor]) => EXPECTED[mode][actor]));
  for (const from of ALL) for (const to of ALL) expect([m(from, to), deliveryLifecycle.can(from, to)]).toEqual([m(from, to), union.has(m(from, to))]);
});

test('COMPLETED and CANCELLED are final; a FAILED delivery can still be retried or cancelled', () => {
  expect(deliveryLifecycle.open().sort()).toEqual([FAILED, IN_PROGRESS, NEW, REVIEWING].sort());
  expect(deliveryLifecycle.from(COMPLETED).sort()).toEqual([IN_PROGRESS, REVIEWING].sort());
  expect(deliveryLifecycle.from(CANCELLED).sort()).toEqual([FAILED, IN_PROGRESS, NEW, REVIEWING].sort());
});

test('a view is built once per mode and actor', () => {
  expect(deliveryMoves(MANUAL, PROVIDER)).toBe(deliveryMoves(MANUAL, PROVIDER));
  expect(deliveryMoves(MANUAL, PROVIDER)).not.toBe(deliveryMoves(MANUAL, ADMIN));
});
