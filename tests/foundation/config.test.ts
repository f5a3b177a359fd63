import { spawn } from 'node:child_process';
import path from 'node:path';
import { ConfigError, DEV_JWT_SECRET, loadConfig } from '../../src/config';

const ROOT = path.resolve(__dirname, '..', '..');

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
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('a misconfigured process stops at once with one clear line', () => {
  test.concurrent.each([
    ['PORT=abc', { PORT: 'abc' }, /PORT/],
    ['TAX_RATE_BPS=-1', { TAX_RATE_BPS: '-1' }, /TAX_RATE_BPS/],
    ['NODE_ENV=production without secrets', { NODE_ENV: 'production' }, /DATABASE_URL.*JWT_SECRET.*STRIPE_SECRET_KEY.*STRIPE_WEBHOOK_SECRET/],
  ])('%s', async (_name, env, names) => {
    const r = await runMain(env);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(names);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(r.stdout).not.toMatch(/GraphQL on/);
  });
});

describe('loadConfig', () => {
  test('defaults of every variable', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      nodeEnv: 'development',
      isProduction: false,
      port: 4000,
      host: '0.0.0.0',
      databaseUrl: undefined,
      dataDir: './.data',
      redisUrl: undefined,
      jwt: { secret: DEV_JWT_SECRET, jwksUrl: undefined, issuer: undefined, audience: undefined, devSecret: true },
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
    const c = loadConfig({
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://u@db:5432/shop',
      JWT_JWKS_URL: 'https://id.example.com/.well-known/jwks.json',
      STRIPE_SECRET_KEY: 'sk_test_x',
      STRIPE_WEBHOOK_SECRET: 'whsec_x',
    });
    expect(c.isProduction).toBe(true);
    expect(c.jwt.devSecret).toBe(false);
    expect(c.jwt.secret).toBeUndefined();
    expect(c.stripe.devGateway).toBe(false);
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
