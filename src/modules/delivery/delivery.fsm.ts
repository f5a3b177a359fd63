import { StateMachine } from '../../shared/fsm';
import { DeliveryStatus } from '../order';

const { NEW, IN_PROGRESS, REVIEWING, COMPLETED, FAILED, CANCELLED } = DeliveryStatus;

/** How a delivery is carried out: by the background worker (plan without provider) or by the plan's provider. */
export enum DeliveryMode {
  AUTOMATIC = 'AUTOMATIC',
  MANUAL = 'MANUAL',
}

/** Who asks for a change: the delivery worker, the plan's provider, or an admin. */
export enum DeliveryActor {
  WORKER = 'WORKER',
  PROVIDER = 'PROVIDER',
  ADMIN = 'ADMIN',
}

type Edge = readonly [from: DeliveryStatus, to: DeliveryStatus, mode: DeliveryMode, by: readonly DeliveryActor[]];
const { AUTOMATIC, MANUAL } = DeliveryMode;
const { WORKER, PROVIDER, ADMIN } = DeliveryActor;

/**
 * The delivery lifecycle: the one table every status change is checked against (CONTRACT.md,
 * Lifecycle). Automatic deliveries: NEW → IN_PROGRESS → COMPLETED, each retried attempt is
 * IN_PROGRESS → IN_PROGRESS (it counts in `attempts`), FAILED after the last try, and an admin's
 * retry is FAILED → NEW. A provider's deliveries: NEW → IN_PROGRESS → REVIEWING → COMPLETED, a
 * review may send the work back to IN_PROGRESS. An admin may cancel any unfinished delivery (which
 * refunds the order). COMPLETED and CANCELLED are final.
 */
export const DELIVERY_TRANSITIONS: readonly Edge[] = [
  [NEW, IN_PROGRESS, AUTOMATIC, [WORKER]],
  [IN_PROGRESS, IN_PROGRESS, AUTOMATIC, [WORKER]],
  [IN_PROGRESS, COMPLETED, AUTOMATIC, [WORKER]],
  [IN_PROGRESS, FAILED, AUTOMATIC, [WORKER]],
  [FAILED, NEW, AUTOMATIC, [ADMIN]],

  [NEW, IN_PROGRESS, MANUAL, [PROVIDER, ADMIN]],
  [IN_PROGRESS, REVIEWING, MANUAL, [PROVIDER, ADMIN]],
  [REVIEWING, IN_PROGRESS, MANUAL, [PROVIDER, ADMIN]],
  [REVIEWING, COMPLETED, MANUAL, [PROVIDER, ADMIN]],

  ...[NEW, IN_PROGRESS, REVIEWING, FAILED].flatMap((from) => [
    [from, CANCELLED, AUTOMATIC, [ADMIN]] as const,
    [from, CANCELLED, MANUAL, [ADMIN]] as const,
  ]),
];

const ALL = Object.values(DeliveryStatus);

function machine(edges: readonly Edge[], name: string): StateMachine<DeliveryStatus> {
  const table = Object.fromEntries(ALL.map((s) => [s, [] as DeliveryStatus[]])) as Record<DeliveryStatus, DeliveryStatus[]>;
  for (const [from, to] of edges) if (!table[from].includes(to)) table[from].push(to);
  return new StateMachine<DeliveryStatus>(name, table);
}

/** Every change any actor may make, whatever the mode. */
export const deliveryLifecycle = machine(DELIVERY_TRANSITIONS, 'delivery');

const byActor = new Map<string, StateMachine<DeliveryStatus>>();

/** The changes `actor` may make to a delivery carried out in `mode`: a view of the same table. */
export function deliveryMoves(mode: DeliveryMode, actor: DeliveryActor): StateMachine<DeliveryStatus> {
  const key = `${mode}:${actor}`;
  let m = byActor.get(key);
  if (!m) {
    m = machine(
      DELIVERY_TRANSITIONS.filter(([, , md, by]) => md === mode && by.includes(actor)),
      `delivery(${mode.toLowerCase()}, ${actor.toLowerCase()})`,
    );
    byActor.set(key, m);
  }
  return m;
}
