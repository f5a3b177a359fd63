import { OrderRecordDocument, type OrderRecordFieldsFragment } from '../__generated__/graphql';
import type { TestServer } from './server';

/** The tests' one polling helper, for the record tests that import it from here. */
export { until } from './until';

/** The order as a record, read through `order(id)` with the given token; throws on errors. */
export async function record(s: TestServer, orderId: string, auth: string): Promise<OrderRecordFieldsFragment> {
  const r = await s.gql(OrderRecordDocument, { id: orderId }, auth);
  if (r.errors || !r.data?.order) throw new Error(`order(${orderId}): ${JSON.stringify(r.errors)}`);
  return r.data.order;
}

/** The history as [version, status, deliveryStatus, actor] rows, for terse assertions. */
export const steps = (o: OrderRecordFieldsFragment) => o.history.map((e) => [e.version, e.status, e.deliveryStatus ?? null, e.actor]);

/** Asserts the history has versions 1..version, in order, and returns its steps. */
export function contiguous(o: OrderRecordFieldsFragment) {
  expect(o.history.map((e) => e.version)).toEqual(Array.from({ length: o.version }, (_, i) => i + 1));
  // The last entry is the order as it is now.
  expect(o.history.at(-1)).toMatchObject({ status: o.status, deliveryStatus: o.delivery?.status ?? null });
  return steps(o);
}
