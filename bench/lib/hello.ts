import { startHello, type Server } from './api';
import { httpLoad, type LoadResult } from './load';

const HELLO_QUERY = JSON.stringify({ query: '{ hello }' });
/** The concurrency the read scenarios compare at. */
export const HELLO_CONNECTIONS = 32;
export const HELLO_NAME = `Apollo hello, same stack, c=${HELLO_CONNECTIONS}`;

/** One closed-loop run of `{ hello }` at {@link HELLO_CONNECTIONS} against a running hello server. */
export function helloLoad(hello: Server, seconds: number, warmupSeconds: number): Promise<LoadResult> {
  return httpLoad({
    url: hello.url,
    connections: HELLO_CONNECTIONS,
    seconds,
    warmupSeconds,
    next: () => ({ body: HELLO_QUERY }),
    verify: (b) => b.startsWith('{"data":{"hello":"world"}'),
  });
}

/** Runs `use` with a hello server started for it, stopped afterwards whatever happens. */
export async function withHello<T>(use: (hello: Server) => Promise<T>): Promise<T> {
  const hello = await startHello();
  try {
    return await use(hello);
  } finally {
    await hello.stop();
  }
}
