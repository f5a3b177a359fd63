import { inLanes } from './lanes';

/**
 * One light request per customer (their wallet), so the API instance at `url` knows each caller before
 * the measured runs: it has checked their token (kept a minute, src/infra/auth.ts) and made sure of
 * their row, as it has for a customer who just created an order or opened a subscription there. The
 * bench makes its orders by SQL instead, so without this the measured request would be each customer's
 * first on that instance and would pay for that too.
 */
export async function introduce(url: string, auth: readonly string[]): Promise<void> {
  const body = JSON.stringify({ query: '{ wallet { balance { amount } } }' });
  await inLanes(auth, 8, async (authorization) => {
    const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization }, body });
    const text = await res.text();
    if (!text.startsWith('{"data":{"wallet":')) throw new Error(`introducing the customers failed: ${text.slice(0, 200)}`);
  });
}
