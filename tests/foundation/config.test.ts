import { spawn } from 'node:child_process';
import path from 'node:path';
import { ConfigError, DEV_JWT_SECRET, loadConfig } from '../../src/config';

const ROOT = path.resolve(__dirname, '..', '..');

/** A complete production configuration with an identity provider's JWKS. */
const PRODUCTION_JWKS: Record<string, string | undefined> = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://u@db:5432/shop',
  JWT_JWKS_URL: 'https://id.example.com/.well-known/jwks.json',
  JWT_ISSUER: 'https://id.example.com/',
  JWT_AUDIENCE: 'commerce-api',
  STRIPE_SECRET_KEY: 'sk_test_x',
  STRIPE_WEBHOOK_SECRET: 'whsec_x',
};
/** The same with a shared HS256 secret (issuer and audience optional). */
const PRODUCTION_HS256: Record<string, string | undefined> = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://u@db:5432/shop',
  JWT_SECRET: 'a-production-secret-of-enough-length',
  STRIPE_SECRET_KEY: 'sk_test_x',
  STRIPE_WEBHOOK_SECRET: 'whsec_x',
};

/** Runs `src/main.ts` with exactly `env` (plus PATH/HOME) and collects how it ended. */
function runMain(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [require.resolve('tsx/cli'), 'src/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 110_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('a misconfigured process stops at once with one clear line', () => {
  // One after another: each loads the whole server's code, which on a busy machine takes a while.
  test.each([
    ['PORT=abc', { PORT: 'abc' }, /PORT/],
    ['TAX_RATE_BPS=-1', { TAX_RATE_BPS: '-1' }, /TAX_RATE_BPS/],
    ['NODE_ENV=production without secrets', { NODE_ENV: 'production' }, /DATABASE_URL.*JWT_SECRET.*STRIPE_SECRET_KEY.*STRIPE_WEBHOOK_SECRET/],
    [
      'NODE_ENV=production with a JWKS over http',
      { NODE_ENV: 'production', DATABASE_URL: 'postgres://u@127.0.0.1:1/x', JWT_JWKS_URL: 'http://id.example.com/jwks', JWT_ISSUER: 'i', JWT_AUDIENCE: 'a', STRIPE_SECRET_KEY: 'sk_x', STRIPE_WEBHOOK_SECRET: 'whsec_x' },
      /JWT_JWKS_URL must be an https URL in production/,
    ],
    [
      'NODE_ENV=production with a JWKS and no audience',
      { NODE_ENV: 'production', DATABASE_URL: 'postgres://u@127.0.0.1:1/x', JWT_JWKS_URL: 'https://id.example.com/jwks', JWT_ISSUER: 'i', STRIPE_SECRET_KEY: 'sk_x', STRIPE_WEBHOOK_SECRET: 'whsec_x' },
      /NODE_ENV=production with JWT_JWKS_URL requires JWT_AUDIENCE/,
    ],
  ])('%s', async (_name, env, names) => {
    const r = await runMain(env);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(names);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(r.stdout).not.toMatch(/GraphQL on/);
  }, 120_000);
});

describe('loadConfig', () => {
  test('defaults of every variable', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      nodeEnv: 'development',
      isProduction: false,
      port: 4000,
      host: '127.0.0.1',
      databaseUrl: undefined,
      dataDir: './.data',
      redisUrl: undefined,
      jwt: { secret: DEV_JWT_SECRET, jwksUrl: undefined, issuer: undefined, audience: undefined, devSecret: true, requireExp: false },
      stripe: { secretKey: undefined, webhookSecret: undefined, apiUrl: undefined, devGateway: true },
      publicUrl: 'http://localhost:4000',
      currency: 'USD',
      taxRateBps: 1500,
      platformFeeBps: 2000,
      profitTaxBps: 1500,
      orderPaymentTimeoutSeconds: 900,
      maxUnpaidOrders: 3,
      smtpUrl: undefined,
      logLevel: 'info',
      bodyLimitBytes: 100 * 1024,
      catalogueMaxAgeSeconds: 5,
      introspection: true,
      runWorker: true,
    });
  });

  test('values are parsed and normalised', () => {
    const c = loadConfig({
      PORT: '8080',
      CURRENCY: 'eur',
      PUBLIC_URL: 'https://shop.example.com/',
      TAX_RATE_BPS: '0',
      JWT_SECRET: 'a-secret-of-enough-length',
      REDIS_URL: 'redis://127.0.0.1:6379',
      RUN_WORKER: 'false',
      LOG_LEVEL: '',
    });
    expect(c.port).toBe(8080);
    expect(c.currency).toBe('EUR');
    expect(c.publicUrl).toBe('https://shop.example.com');
    expect(c.taxRateBps).toBe(0);
    expect(c.jwt).toMatchObject({ secret: 'a-secret-of-enough-length', devSecret: false });
    expect(c.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(c.runWorker).toBe(false);
    expect(c.logLevel).toBe('info'); // empty means unset
    expect(loadConfig({ PORT: '5000' }).publicUrl).toBe('http://localhost:5000');
  });

  test('production with every required variable is accepted and has no development fallbacks', () => {
    const c = loadConfig(PRODUCTION_JWKS);
    expect(c.isProduction).toBe(true);
    expect(c.jwt.devSecret).toBe(false);
    expect(c.jwt.secret).toBeUndefined();
    expect(c.jwt.requireExp).toBe(true);
    expect(c.stripe.devGateway).toBe(false);
    expect(c.host).toBe('0.0.0.0');
  });

  test('HOST: loopback outside production, every interface in production, whatever HOST says when set', () => {
    expect(loadConfig({ NODE_ENV: 'development' }).host).toBe('127.0.0.1');
    expect(loadConfig({ NODE_ENV: 'test' }).host).toBe('127.0.0.1');
    expect(loadConfig(PRODUCTION_HS256).host).toBe('0.0.0.0');
    expect(loadConfig({ NODE_ENV: 'development', HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
    expect(loadConfig({ ...PRODUCTION_HS256, HOST: '127.0.0.1' }).host).toBe('127.0.0.1');
  });

  test('production requires tokens to expire, with a shared secret too; development does not', () => {
    expect(loadConfig(PRODUCTION_HS256).jwt.requireExp).toBe(true);
    expect(loadConfig({ JWT_SECRET: 'a-secret-of-enough-length' }).jwt.requireExp).toBe(false);
  });

  test.each([
    ['an http JWKS URL', { JWT_JWKS_URL: 'http://id.example.com/.well-known/jwks.json' }, /^Invalid configuration: JWT_JWKS_URL must be an https URL in production \(got "http:\/\/id\.example\.com/],
    ['no JWT_ISSUER', { JWT_ISSUER: undefined }, /^Invalid configuration: NODE_ENV=production with JWT_JWKS_URL requires JWT_ISSUER$/],
    ['no JWT_AUDIENCE', { JWT_AUDIENCE: '' }, /^Invalid configuration: NODE_ENV=production with JWT_JWKS_URL requires JWT_AUDIENCE$/],
    ['neither', { JWT_ISSUER: undefined, JWT_AUDIENCE: undefined }, /requires JWT_ISSUER and JWT_AUDIENCE$/],
  ])('production with a JWKS and %s stops with one line naming it', (_name, change, line) => {
    let error: unknown;
    try {
      loadConfig({ ...PRODUCTION_JWKS, ...change });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(line);
    expect((error as Error).message).not.toContain('\n');
  });

  test('outside production an http JWKS without issuer or audience stays allowed (a local identity provider)', () => {
    const c = loadConfig({ JWT_JWKS_URL: 'http://127.0.0.1:9999/jwks.json' });
    expect(c.jwt).toMatchObject({ jwksUrl: 'http://127.0.0.1:9999/jwks.json', requireExp: false, devSecret: false });
  });

  test.each([
    [{ PORT: '70000' }, /PORT/],
    [{ TAX_RATE_BPS: '12.5' }, /TAX_RATE_BPS/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL/],
    [{ JWT_SECRET: 'short' }, /JWT_SECRET/],
    [{ JWT_SECRET: 'a-secret-of-enough-length', JWT_JWKS_URL: 'https://id.example.com/jwks' }, /JWT_SECRET and JWT_JWKS_URL/],
    [{ STRIPE_SECRET_KEY: 'sk_test_x' }, /STRIPE_WEBHOOK_SECRET/],
    [{ CURRENCY: 'dollars' }, /CURRENCY/],
    [{ RUN_WORKER: 'maybe' }, /RUN_WORKER/],
  ])('%j is refused naming the variable', (env, names) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(names);
    expect((error as Error).message).not.toContain('\n');
  });
});
