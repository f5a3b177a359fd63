import { generate, loadCodegenConfig } from '@graphql-codegen/cli';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Runs the codegen of codegen.yml in memory and compares it with the files on disk: exits 1 listing the
 * stale files (fix: `npm run codegen`), 0 when they are current. Nothing is written.
 * Usage: tsx scripts/check-codegen.ts [project root, default this repository]
 */
async function main() {
  const root = path.resolve(process.argv[2] ?? path.join(__dirname, '..'));
  const { config } = await loadCodegenConfig({ configFilePath: path.join(root, 'codegen.yml') });
  // generate() is typed `any` (it returns the files only when not writing them, as here).
  const outputs = (await generate({ ...config, cwd: root, silent: true }, false)) as Array<{ filename: string; content: string }>;
  if (outputs.length === 0) throw new Error('codegen produced no files');
  const stale = outputs
    .filter((o) => {
      const file = path.resolve(root, o.filename);
      return !existsSync(file) || readFileSync(file, 'utf8') !== o.content;
    })
    .map((o) => o.filename);
  if (stale.length) {
    console.error(`stale generated files (run \`npm run codegen\`): ${stale.join(', ')}`);
    process.exit(1);
  }
  console.log(`${outputs.length} generated files are up to date`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(2);
});
