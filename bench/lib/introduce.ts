import { inLanes } from './lanes';

/** A wallet read: makes the API sure of the caller's row. */
const WALLET = JSON.stringify({ query: '{ wallet { balance { amount } } }' });
/**
 * A mutation that changes nothing (no order has this id: NOT_FOUND) but counts toward the caller's
 * mutation allowance, as every mutation does.
 */
const NOTHING_CHANGED = JSON.stringify({ query: 'mutation { cancelOrder(orderId: "00000000-0000-4000-8000-000000000000") { id } }' });

/**
 * One light request per customer (their wallet), so the API instance at `url` knows each caller before
 * the measured runs: it has checked their token (kept, src/infra/auth.ts) and made sure of
 * their row, as it has for a customer who just created an order or opened a subscription there. The
 * bench makes its orders by SQL instead, so without this the measured request would be each customer's
 * first on that instance and would pay for that too.
 *
 * With `mutation`, also one mutation that changes nothing, as the order's creation there would have
 * been: with Redis the instance then holds a lease of the caller's mutation allowance (see
 * src/infra/rate-limit.ts) for the window, as after any mutation, and the measured mutation is not
 * the one that takes it (a Redis round trip before it runs).
 */
export async function introduce(url: string, auth: readonly string[], opts: { mutation?: boolean } = {}): Promise<void> {
  const post = async (authorization: string, body: string) =>
    (await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization }, body })).text();
  await inLanes(auth, 8, async (authorization) => {
    const wallet = await post(authorization, WALLET);
    if (!wallet.startsWith('{"data":{"wallet":')) throw new Error(`introducing the customers failed: ${wallet.slice(0, 200)}`);
    if (!opts.mutation) return;
    const nothing = await post(authorization, NOTHING_CHANGED);
    if (!nothing.includes('"code":"NOT_FOUND"')) throw new Error(`introducing the customers' mutations failed: ${nothing.slice(0, 200)}`);
  });
}
