import { randomInt } from 'node:crypto';
import net from 'node:net';

/**
 * Where {@link freePort} looks first: below Linux's default range of local ports for outgoing
 * connections (32768–60999), from which the OS also picks a port asked for as 0. A port found free in
 * that range can be taken by any connection another process opens before the server starts listening
 * on it (an embedded PostgreSQL takes seconds to start first); one below it only by another listener.
 */
const LOW_PORTS = { from: 20_000, to: 32_767 };
const LOW_PORT_TRIES = 20;

/** The port a server got when it listened on `port` of 127.0.0.1 just now (0: one the OS picks), or null if it could not. */
function listenOnce(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(null));
    srv.listen(port, '127.0.0.1', () => {
      const got = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(got));
    });
  });
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, for servers started on demand: one below the
 * range of outgoing connections' ports when one is free there (see {@link LOW_PORTS}), else one the OS
 * picks.
 */
export async function freePort(): Promise<number> {
  for (let i = 0; i < LOW_PORT_TRIES; i++) {
    const port = await listenOnce(randomInt(LOW_PORTS.from, LOW_PORTS.to + 1));
    if (port !== null) return port;
  }
  const picked = await listenOnce(0);
  if (picked === null) throw new Error('no free TCP port on 127.0.0.1');
  return picked;
}
