import { entities } from '../../src/entities';
import { CONNECTION_SLOT_SETTING, initOrm } from '../../src/infra/orm';
import { createTestDatabase } from '../support/server';
import { until } from '../support/until';

/** The slot of the connection a statement ran on, read while the others are held open beside it. */
const SLOT_WHILE_HELD = `select current_setting('${CONNECTION_SLOT_SETTING}', true) as slot, pg_backend_pid() as pid, pg_sleep(0.3) as held`;

test('each connection of the pool holds a slot no other live connection holds, and a closed one gives it back', async () => {
  const orm = await initOrm(entities, await createTestDatabase(), 4);
  try {
    const read = () => orm.em.getConnection().execute<Array<{ slot: string | null; pid: number }>>(SLOT_WHILE_HELD);
    const first = (await Promise.all([read(), read(), read(), read()])).map(([row]) => row);
    expect(new Set(first.map((r) => r.pid)).size).toBe(4);
    const slots = first.map((r) => Number(r.slot));
    expect(first.every((r) => r.slot !== null && /^\d+$/.test(r.slot))).toBe(true);
    // Distinct and consecutive from the process's offset: four connections, four stripes of sixteen.
    expect([...slots].sort((a, b) => a - b)).toEqual(Array.from({ length: 4 }, (_, i) => Math.min(...slots) + i));

    // A connection that ends gives its slot back: the next one made takes the lowest free slot.
    const lost = first[0];
    // (The pool may run this on the very connection it ends: that one answers with an error.)
    await orm.em
      .getConnection()
      .execute(`select pg_terminate_backend(${lost.pid})`)
      .catch(() => undefined);
    // (The pool learns of the end from the socket, a moment later; a read on it meanwhile fails.)
    const again = await until('the pool replaced the ended connection', async () => {
      const rows = await Promise.all([read(), read(), read(), read()]).then((all) => all.map(([row]) => row), () => []);
      return rows.length === 4 && rows.every((r) => r.pid !== lost.pid) && rows;
    });
    expect(new Set(again.map((r) => Number(r.slot)))).toEqual(new Set(slots));
  } finally {
    await orm.close();
  }
});
