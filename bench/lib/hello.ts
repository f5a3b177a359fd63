import { startHello } from './api';
import { httpLoad, type LoadResult } from './load';
import type { Sizes } from './settings';

const HELLO_QUERY = JSON.stringify({ query: '{ hello }' });
/** The concurrency the read scenarios compare at. */
export const HELLO_CONNECTIONS = 32;
export const HELLO_NAME = `Apollo hello, same stack, c=${HELLO_CONNECTIONS}`;

/** Apollo Server's `{ hello }` on the same stack and process settings, closed loop at 32 connections. */
export async function measureHello(sizes: Sizes): Promise<LoadResult> {
  const hello = await startHello();
  try {
    return await httpLoad({
      url: hello.url,
      connections: HELLO_CONNECTIONS,
      seconds: sizes.duration,
      warmupSeconds: sizes.warmup,
      next: () => ({ body: HELLO_QUERY }),
      verify: (b) => b.startsWith('{"data":{"hello":"world"}'),
    });
  } finally {
    await hello.stop();
  }
}
