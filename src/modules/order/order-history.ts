import type DataLoader from 'dataloader';
import type { CallerContext } from '../../shared/caller';
import { forkLoader } from '../../shared/fork-loader';
import type { DeliveryStatus } from './order.delivery';
import type { OrderStatus } from './order.entity';

/** One committed change of an order, as `order_event` holds it. */
export interface OrderHistoryEntry {
  version: number;
  at: Date;
  status: OrderStatus;
  deliveryStatus: DeliveryStatus | null;
  actor: string;
}

/** Every order's history asked for with the same fork, read in one query per batch. */
const historiesOf = forkLoader(async (em, ids: readonly string[]) => {
  const rows = await em.execute<{ order_id: string; version: number; at: Date; status: OrderStatus; delivery_status: DeliveryStatus | null; actor: string }[]>(
    `select order_id, version, at, status, delivery_status, actor from order_event where order_id in (?) order by order_id, version`,
    [[...ids]],
  );
  const byOrder = new Map<string, OrderHistoryEntry[]>();
  for (const r of rows) {
    const list = byOrder.get(r.order_id) ?? [];
    list.push({ version: Number(r.version), at: new Date(r.at), status: r.status, deliveryStatus: r.delivery_status, actor: r.actor });
    byOrder.set(r.order_id, list);
  }
  return ids.map((id) => byOrder.get(id) ?? []);
});

/** The request's loader of order histories: every order a request asks for, read in one query per batch. */
export const historyLoader = (ctx: CallerContext): DataLoader<string, OrderHistoryEntry[]> => historiesOf(ctx.em);

