import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { runOrThrow } from './processes';
import { ROOT } from './settings';

/**
 * Builds what the bench runs: the API for production (`npm run build` -> dist/src/main.js) and the
 * hello server (one file, transpiled the same way to dist/bench/hello-server.js).
 */
export function buildAll(): void {
  runOrThrow('npm', ['run', '--silent', 'build']);
  const source = readFileSync(path.join(ROOT, 'bench', 'hello-server.ts'), 'utf8');
  const out = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  });
  mkdirSync(path.join(ROOT, 'dist', 'bench'), { recursive: true });
  writeFileSync(path.join(ROOT, 'dist', 'bench', 'hello-server.js'), out.outputText);
}
