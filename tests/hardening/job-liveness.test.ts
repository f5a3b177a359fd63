import { startTestServer, type TestServer } from '../support/server';
import { until } from '../support/until';

/**
 * A job runner says it is alive by holding a session advisory lock named after its pool for its whole
 * life; a runner whose lock is free counts as dead, and the other runners take back its jobs that have
 * been locked for more than 15 s (src/infra/jobs.ts). A live runner that loses that session must hold
 * the lock again at once, or its long jobs would be taken back and run twice.
 */
jest.setTimeout(30_000);

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s?.stop());

/** The backends holding a session advisory lock in the server's database (the runner's liveness lock is the only one). */
const holders = async () =>
  (
    await s.sql<{ pid: number }>(
      `select l.pid from pg_locks l join pg_database d on d.oid = l.database
        where l.locktype = 'advisory' and l.granted and l.objsubid = 1 and d.datname = current_database()`,
    )
  ).map((r) => r.pid);

test('a runner whose liveness session is terminated holds its lock again within a few seconds, not at its next check', async () => {
  const [first] = await until('the runner to hold its liveness lock', async () => {
    const pids = await holders();
    return pids.length === 1 && pids;
  });
  await s.sql(`select pg_terminate_backend($1)`, [first]);
  // Held again by a new session within a few reconnect delays (500 ms each), well before the runner's
  // next check (every 10 s), which is when it connected again before.
  const again = await until(
    'the runner to hold its liveness lock again, within 3 s',
    async () => {
      const pids = await holders();
      return pids.length === 1 && pids[0] !== first && pids;
    },
    3_000,
    50,
  );
  expect(again).toHaveLength(1);
});
