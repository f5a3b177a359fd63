/**
 * Runs `each` on every item, at most `lanes` at a time (each lane takes the next item when its last one
 * is done), and resolves when all are done; the first failure rejects.
 */
export async function inLanes<T>(items: readonly T[], lanes: number, each: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await each(items[next++]);
  };
  await Promise.all(Array.from({ length: lanes }, lane));
}
