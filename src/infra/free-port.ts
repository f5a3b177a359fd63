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

/** Whether a server could listen on `port` of 127.0.0.1 just now. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A port the OS picks (port 0), free a moment ago. */
function osPickedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
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
    const port = randomInt(LOW_PORTS.from, LOW_PORTS.to + 1);
    if (await canListen(port)) return port;
  }
  return osPickedPort();
}
