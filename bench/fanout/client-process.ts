/**
 * A process holding many real graphql-ws clients, one socket and one `orderUpdated` subscription per
 * order, started by the fan-out scenario (`node --import tsx bench/fanout/client-process.ts`) and
 * driven over IPC. It records, on the machine's monotonic clock, when each order's first change
 * (version > 1) arrives.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { inLanes } from '../lib/lanes';
import { calibrateWallMs, nowMs, wallMs } from '../lib/stats';
import type { ToClients, FromClients } from './protocol';

const QUERY = 'subscription Live($orderId: ID!) { orderUpdated(orderId: $orderId) { id status version cancelledAt } }';

const clients: Client[] = [];
/** Per changed order: monotonic ms at arrival, wall-clock ms at arrival, the change's transaction start (cancelledAt). */
const changedAt = new Map<string, [number, number, number]>();
let initial = 0;
let failed = 0;
let firstError: string | undefined;
let duplicates = 0;

const send = (m: FromClients) => process.send!(m);

function fail(e: unknown): void {
  failed++;
  if (!firstError) {
    if (e instanceof Error) firstError = e.message;
    else if (Array.isArray(e)) firstError = JSON.stringify(e).slice(0, 300);
    else if (e && typeof e === 'object' && 'code' in e) firstError = `socket closed ${(e as { code: number; reason?: string }).code} ${(e as { reason?: string }).reason ?? ''}`;
    else firstError = String(e).slice(0, 300);
  }
}

async function connectAll(url: string, subs: Array<{ orderId: string; token: string }>, concurrency: number): Promise<void> {
  const one = (s: { orderId: string; token: string }) =>
    new Promise<void>((resolve) => {
      const client = createClient({
        url,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${s.token}` },
        lazy: true,
        retryAttempts: 0,
        lazyCloseTimeout: 0,
      });
      clients.push(client);
      let settled = false;
      const settle = () => {
        if (!settled) {
          settled = true;
          resolve();
        }
      };
      client.subscribe<{ orderUpdated: { id: string; status: string; version: number; cancelledAt: string | null } }>(
        { query: QUERY, variables: { orderId: s.orderId } },
        {
          next: (result) => {
            const at = nowMs();
            const wall = wallMs();
            const o = result.data?.orderUpdated;
            if (!o) {
              fail(result.errors ?? 'no data');
              settle();
              return;
            }
            if (o.version <= 1) {
              initial++;
              settle();
            } else if (changedAt.has(o.id)) duplicates++;
            else changedAt.set(o.id, [at, wall, o.cancelledAt ? Date.parse(o.cancelledAt) : NaN]);
          },
          error: (e) => {
            fail(e);
            settle();
          },
          complete: () => settle(),
        },
      );
    });
  await inLanes(subs, concurrency, one);
}

process.on('message', (m: ToClients) => {
  void (async () => {
    if (m.type === 'connect') {
      const started = nowMs();
      await connectAll(m.url, m.subs, m.concurrency);
      send({ type: 'connected', initial, failed, firstError, ms: nowMs() - started });
    } else if (m.type === 'collect') {
      send({ type: 'received', changes: [...changedAt.entries()].map(([id, t]) => [id, ...t]), failed, firstError, duplicates });
    } else if (m.type === 'settle') {
      global.gc?.();
      calibrateWallMs();
      send({ type: 'settled' });
    } else if (m.type === 'close') {
      await Promise.all(clients.map(async (c) => c.dispose()));
      process.exit(0);
    }
  })();
});
send({ type: 'up' });
