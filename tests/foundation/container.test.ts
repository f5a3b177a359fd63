import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';

/**
 * The container image and the compose stack, read as Docker would read them (no Docker engine is
 * needed): the image runs in production, so the development secret and gateway are refused, and the
 * compose stack, which asks for development explicitly, is reachable only from this machine.
 */
const ROOT = path.resolve(__dirname, '..', '..');

/** The `ENV` of the Dockerfile's last stage (the image that runs), both `ENV K=V …` and `ENV K V` forms. */
function imageEnv(): Record<string, string> {
  const text = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\r?\n/g, ' ');
  const lines = text.split('\n').map((l) => l.trim());
  const lastFrom = lines.map((l) => /^FROM\s/i.test(l)).lastIndexOf(true);
  const env: Record<string, string> = {};
  for (const line of lines.slice(lastFrom)) {
    const m = /^ENV\s+(.*)$/i.exec(line);
    if (!m) continue;
    const pairs = [...m[1].matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)];
    if (pairs.length) for (const [, k, v] of pairs) env[k] = v.replace(/^"|"$/g, '');
    else {
      const [k, ...v] = m[1].split(/\s+/);
      env[k] = v.join(' ');
    }
  }
  return env;
}

/** A block of `docker-compose.yml`'s `api` service (`environment` as a map, `ports` as a list). */
function composeApi(): { environment: Record<string, string>; ports: string[] } {
  const lines = readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8').split('\n');
  const indent = (l: string) => l.length - l.trimStart().length;
  const start = lines.findIndex((l) => /^\s{2}api:\s*$/.test(l));
  expect(start).toBeGreaterThan(-1);
  const end = lines.findIndex((l, i) => i > start && l.trim() !== '' && indent(l) <= 2);
  const service = lines.slice(start + 1, end === -1 ? undefined : end);
  const block = (name: string) => {
    const at = service.findIndex((l) => l.trim() === `${name}:`);
    if (at === -1) return [];
    const own = indent(service[at]);
    const out: string[] = [];
    for (const l of service.slice(at + 1)) {
      if (l.trim() === '' || l.trim().startsWith('#')) continue;
      if (indent(l) <= own) break;
      out.push(l.trim());
    }
    return out;
  };
  // `${NAME:-default}` is what compose substitutes when NAME is unset in the shell.
  const unquote = (v: string) => v.trim().replace(/^"(.*)"$/, '$1').replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');
  const environment = Object.fromEntries(block('environment').map((l) => [l.slice(0, l.indexOf(':')).trim(), unquote(l.slice(l.indexOf(':') + 1))]));
  const ports = block('ports').map((l) => unquote(l.replace(/^-\s*/, '')));
  return { environment, ports };
}

test('the image runs in production and listens on every interface of its container', () => {
  expect(imageEnv()).toMatchObject({ NODE_ENV: 'production', HOST: '0.0.0.0' });
});

test('the image alone refuses the development secret and gateway: it stops naming what production needs', () => {
  let error: unknown;
  try {
    loadConfig(imageEnv());
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as Error).message).toMatch(/NODE_ENV=production requires DATABASE_URL, JWT_SECRET or JWT_JWKS_URL, STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET/);
  // Given the keys it starts in production, with no development fallback left.
  const c = loadConfig({
    ...imageEnv(),
    DATABASE_URL: 'postgres://u@db:5432/shop',
    JWT_SECRET: 'a-production-secret-of-enough-length',
    STRIPE_SECRET_KEY: 'sk_live_x',
    STRIPE_WEBHOOK_SECRET: 'whsec_x',
  });
  expect(c).toMatchObject({ isProduction: true, host: '0.0.0.0', jwt: { devSecret: false, requireExp: true }, stripe: { devGateway: false } });
});

test('the compose stack is development on purpose, reachable through its port, and published on this machine only', () => {
  const api = composeApi();
  const c = loadConfig({ ...imageEnv(), ...api.environment });
  expect(c.nodeEnv).toBe('development');
  expect(c.host).toBe('0.0.0.0'); // inside the container: the published port must reach it
  expect(c.port).toBe(4000);
  expect(c.databaseUrl).toMatch(/^postgres:\/\/.*@postgres:5432\//);
  expect(api.ports).toEqual(['127.0.0.1:4000:4000']);
});
