// Completes package-lock.json with the platform-specific optional packages (other OSes and CPUs) that a
// registry mirror serving only this platform cannot describe. npm 11 refuses `npm ci` on a lock that lacks
// them (npm/cli#8805); the added entries carry version, os, cpu and libc, so other platforms still resolve
// them from the registry while this one skips them. Run `npm run lock:complete` after changing dependencies.
import { readFileSync, writeFileSync } from 'node:fs';

const file = process.argv[2] ?? 'package-lock.json';
const lock = JSON.parse(readFileSync(file, 'utf8'));
const pk = lock.packages;
const OS = ['darwin', 'win32', 'linux', 'android', 'freebsd', 'openharmony', 'sunos', 'openbsd', 'netbsd', 'aix', 'wasi'];
const CPU = ['arm64', 'x64', 'ia32', 'arm', 'ppc64', 's390x', 'riscv64', 'loong64', 'wasm32', 'mips64el'];
let added = 0;
for (const [path, meta] of Object.entries(pk)) {
  for (const [name, spec] of Object.entries(meta.optionalDependencies ?? {})) {
    const base = path ? `${path}/node_modules/${name}` : `node_modules/${name}`;
    const hoisted = `node_modules/${name}`;
    if (pk[base] || pk[hoisted]) continue;
    const parts = name.split('/').pop().split('-');
    const os = parts.find((p) => OS.includes(p));
    let cpu = parts.find((p) => CPU.includes(p));
    if (!os && !cpu) { console.error('skip (not a platform package):', name); continue; }
    const entry = { version: spec.replace(/^[\^~=]/, ''), dev: meta.dev || undefined, optional: true };
    if (os) entry.os = [os === 'wasi' ? 'wasi' : os];
    if (cpu) entry.cpu = [cpu];
    if (parts.includes('musl') || parts.includes('musleabihf')) entry.libc = ['musl'];
    else if (parts.includes('gnu') || parts.includes('gnueabihf')) entry.libc = ['glibc'];
    pk[hoisted] = JSON.parse(JSON.stringify(entry));
    added++;
  }
}
// keep keys sorted like npm does
lock.packages = Object.fromEntries(Object.entries(pk).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
writeFileSync(file, JSON.stringify(lock, null, 2) + '\n');
console.log(`added ${added} entries`);
