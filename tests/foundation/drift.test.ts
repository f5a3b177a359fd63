import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { entities } from '../../src/entities';
import { initOrm } from '../../src/infra/orm';
import { createSchema } from '../../src/schema';
import { createTestDatabase } from '../support/server';

const ROOT = path.resolve(__dirname, '..', '..');

/** The SDL without the generator's header comment and blank-line differences. */
const sdl = (text: string) =>
  text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n')
    .trim();

test('schema.graphql is what the code emits (run `npm run schema` after changing resolvers)', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'schema-'));
  try {
    const file = path.join(dir, 'schema.graphql');
    await createSchema(file);
    expect(sdl(readFileSync(path.join(ROOT, 'schema.graphql'), 'utf8'))).toBe(sdl(readFileSync(file, 'utf8')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the migrations produce exactly the schema the entities describe (no pending diff)', async () => {
  const orm = await initOrm(entities, await createTestDatabase(), 2);
  try {
    const diff = await orm.schema.getUpdateSchemaSQL({ wrap: false });
    expect(diff.trim()).toBe('');
  } finally {
    await orm.close();
  }
});

test('every index the entities declare by its SQL is the index the migrations made', async () => {
  // The schema diff compares such indexes by name only, so their definitions are checked here: each
  // entity's statement is run under another name and read back as PostgreSQL keeps it, beside the
  // migrations' index of that name.
  const orm = await initOrm(entities, await createTestDatabase(), 2);
  try {
    const declared = Object.values(orm.getMetadata().getAll()).flatMap((meta) =>
      [...meta.indexes, ...meta.uniques].filter((i) => typeof i.expression === 'string').map((i) => ({ name: i.name!, sql: i.expression as string })),
    );
    expect(declared.map((d) => d.name)).toEqual(expect.arrayContaining(['order_customer_idempotency_unique', 'ledger_entry_wallet_idx', 'order_created_utc_idx']));
    const differ = await orm.em.fork().transactional(async (tx) => {
      const found: string[] = [];
      for (const [n, d] of declared.entries()) {
        const probe = `drift_probe_${n}`;
        await tx.execute(d.sql.replace(`"${d.name}"`, `"${probe}"`));
        const [made] = await tx.execute<{ def: string | null }[]>(`select pg_get_indexdef(to_regclass(?)) as def`, [d.name]);
        const [wanted] = await tx.execute<{ def: string }[]>(`select pg_get_indexdef(to_regclass(?)) as def`, [probe]);
        if (made.def?.replace(d.name, '') !== wanted.def.replace(probe, '')) found.push(`${d.name}: the migrations made ${made.def ?? 'nothing'}, the entity declares ${wanted.def}`);
        await tx.execute(`drop index "${probe}"`);
      }
      return found;
    });
    expect(differ).toEqual([]);
  } finally {
    await orm.close();
  }
});

/** Runs scripts/check-codegen.ts (in a child process: the codegen presets load through dynamic imports). */
function checkCodegen(root?: string): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [require.resolve('tsx/cli'), path.join(ROOT, 'scripts', 'check-codegen.ts'), ...(root ? [root] : [])], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

test('tests/__generated__ is up to date with schema.graphql and tests/operations (run `npm run codegen`)', () => {
  const r = checkCodegen();
  expect(r.output).toMatch(/up to date/);
  expect(r.status).toBe(0);
});

test('the codegen check notices stale files', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'codegen-'));
  try {
    for (const f of ['codegen.yml', 'schema.graphql', 'tests/operations', 'tests/__generated__']) cpSync(path.join(ROOT, f), path.join(dir, f), { recursive: true });
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    appendFileSync(path.join(dir, 'tests/operations/foundation.graphql'), '\nquery ExtraForTheCheck { plans { id } }\n');
    const r = checkCodegen(dir);
    expect(r.status).toBe(1);
    expect(r.output).toMatch(/stale generated files.*graphql\.ts/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
