import { WebSocket, type WebSocketServer } from 'ws';

/** How often the heartbeat's one timer ticks: each tick pings one slice of the sockets. */
const TICK_MS = 100;

/** Stops a heartbeat. */
export interface Heartbeat {
  stop(): void;
}

/**
 * Keeps the server's sockets alive and drops the ones whose client has vanished: every socket is
 * pinged once per `intervalMs`, and one that has not answered its previous ping by then is terminated
 * (so a vanished client is dropped within two intervals), as graphql-ws' own keep-alive does.
 *
 * One timer serves every socket. graphql-ws' keep-alive gives each socket its own interval, and each
 * ping its own timeout and `pong` listener: 10,000 idle sockets then cost the server and their clients
 * one wake-up a ping on each side, a few hundred a second spread evenly. Here the sockets are dealt
 * into `intervalMs / tickMs` slices and each tick pings one slice in one go, so both sides handle a
 * slice's pings and pongs in a few wake-ups, and a socket carries one flag instead of timers. A new
 * socket joins the slice holding fewest (the first such in tick order after the last one dealt to),
 * so a crowd connecting at once is spread over the ticks, and slices that disconnects have thinned
 * are filled first: the ticks stay even however long the server runs.
 */
export function heartbeat(wss: WebSocketServer, intervalMs: number, tickMs = TICK_MS): Heartbeat {
  const slices: Array<Set<WebSocket>> = Array.from({ length: Math.max(1, Math.round(intervalMs / tickMs)) }, () => new Set());
  /** Sockets pinged that have not answered yet. */
  const unanswered = new WeakSet<WebSocket>();
  let dealt = 0;
  let due = 0;
  const fewest = (): Set<WebSocket> => {
    let best = dealt;
    for (let k = 1; k < slices.length; k++) {
      const i = (dealt + k) % slices.length;
      if (slices[i].size < slices[best].size) best = i;
    }
    dealt = (best + 1) % slices.length;
    return slices[best];
  };
  const onConnection = (socket: WebSocket) => {
    const slice = fewest();
    slice.add(socket);
    socket.on('pong', () => unanswered.delete(socket));
    socket.once('close', () => slice.delete(socket));
  };
  wss.on('connection', onConnection);
  const timer = setInterval(() => {
    const slice = slices[due];
    due = (due + 1) % slices.length;
    for (const socket of slice) {
      if (socket.readyState !== WebSocket.OPEN) continue;
      if (unanswered.has(socket)) {
        socket.terminate();
        continue;
      }
      unanswered.add(socket);
      socket.ping();
    }
  }, tickMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      wss.off('connection', onConnection);
    },
  };
}
