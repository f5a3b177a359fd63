import { Client } from 'pg';

/** A statement and its values. */
export type Statement = [text: string, values: unknown[]];

/**
 * Runs `waiting` on one connection while another holds a transaction open that ran `holding`, and
 * answers whether `waiting` was still waiting after `ms`, then how it ended once the holder committed
 * (its error, or null when it succeeded). For what the database must make wait, not refuse at once.
 */
export async function afterHolderCommits(databaseUrl: string, holding: Statement, waiting: Statement, ms = 300): Promise<{ waited: boolean; error: Error | null }> {
  const holder = new Client({ connectionString: databaseUrl });
  const waiter = new Client({ connectionString: databaseUrl });
  await Promise.all([holder.connect(), waiter.connect()]);
  try {
    await holder.query('begin');
    await holder.query(...holding);
    let settled = false;
    const outcome = waiter.query(...waiting).then(
      () => null,
      (e: Error) => e,
    );
    void outcome.finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, ms));
    const waited = !settled;
    await holder.query('commit');
    return { waited, error: await outcome };
  } finally {
    await Promise.all([holder.end(), waiter.end()]);
  }
}
