import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { startTestServer, type TestServer } from '../support/server';

/**
 * Outside production a server is a developer's (development secret, free development gateway): it
 * listens on loopback only unless HOST says otherwise, as Rails and Vite do.
 */

/** An IPv4 address of this machine other than loopback, if it has one. */
const lanAddress = Object.values(os.networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

if (!lanAddress) console.warn('[listen.test] this machine has no non-loopback IPv4 address: only the bound address is checked');

/** What a client on the network gets from `GET /healthz` at `host`: the status, or the connection error. */
async function healthFrom(host: string, port: number): Promise<number | string> {
  try {
    return (await fetch(`http://${host}:${port}/healthz`, { signal: AbortSignal.timeout(10_000) })).status;
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause;
    return cause?.code ?? String(e);
  }
}

const servers: TestServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

test('a development server without HOST answers on 127.0.0.1 and is not reachable from the network', async () => {
  const s = await startTestServer({ NODE_ENV: 'development', HOST: undefined, LOG_LEVEL: 'silent' });
  servers.push(s);
  const { address, port } = s.app.http.server.address() as AddressInfo;
  expect(address).toBe('127.0.0.1');
  expect(await healthFrom('127.0.0.1', port)).toBe(200);
  if (lanAddress) expect(await healthFrom(lanAddress, port)).toBe('ECONNREFUSED');
});

test('HOST=0.0.0.0 serves every interface', async () => {
  const s = await startTestServer({ NODE_ENV: 'development', HOST: '0.0.0.0', LOG_LEVEL: 'silent' });
  servers.push(s);
  const { address, port } = s.app.http.server.address() as AddressInfo;
  expect(address).toBe('0.0.0.0');
  expect(await healthFrom('127.0.0.1', port)).toBe(200);
  if (lanAddress) expect(await healthFrom(lanAddress, port)).toBe(200);
});
