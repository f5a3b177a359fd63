import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/infra/free-port';
import { codeOf, createTestDatabase, startTestServer, TEST_SECRET, type GqlResult, type TestServer } from '../support/server';
import { until } from '../support/until';

/**
 * Token verification as configured for production: keys from an https JWKS bound to an issuer and an
 * audience, and no token without `exp` (it would be valid forever), with an HS256 secret too.
 */
jest.setTimeout(180_000);

const ROOT = path.resolve(__dirname, '..', '..');
const ISSUER = 'https://id.example.test/';
const AUDIENCE = 'commerce-api';
const ME = 'query Me { me { id role } }';

async function gql(url: string, token: string): Promise<GqlResult<{ me: { id: string; role: string } }>> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: ME }),
  });
  return { ...((await res.json()) as GqlResult), status: res.status };
}

describe('production with an identity provider (https JWKS, issuer, audience)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'commerce-jwks-'));
  let jwks: https.Server;
  let jwksRequests = 0;
  let rsa: { privateKey: CryptoKey; publicKey: CryptoKey };
  let api: ChildProcess | undefined;
  let output = '';
  let url: string;

  beforeAll(async () => {
    // A certificate for 127.0.0.1 that the API trusts through NODE_EXTRA_CA_CERTS, as it would a real CA's.
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    rsa = await generateKeyPair('RS256', { extractable: true });
    const keys = [{ ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' }];
    jwks = https.createServer({ key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')) }, (_req, res) => {
      jwksRequests++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));

    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    api = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        NODE_ENV: 'production',
        NODE_EXTRA_CA_CERTS: path.join(dir, 'cert.pem'),
        HOST: '127.0.0.1',
        PORT: String(port),
        LOG_LEVEL: 'warn',
        DATABASE_URL: await createTestDatabase(),
        JWT_JWKS_URL: `https://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`,
        JWT_ISSUER: ISSUER,
        JWT_AUDIENCE: AUDIENCE,
        STRIPE_SECRET_KEY: 'sk_test_unused',
        STRIPE_WEBHOOK_SECRET: 'whsec_unused',
        RUN_WORKER: 'false',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    api.stdout!.on('data', (d) => (output += d));
    api.stderr!.on('data', (d) => (output += d));
    let exited = false;
    api.once('exit', () => (exited = true));
    const outcome = await until('the production server to answer /healthz, or to exit', async () => (exited ? 'exited' : (await fetch(`${url}/healthz`)).status === 200 && 'up'), 150_000, 200).catch(
      (e: Error) => e.message,
    );
    if (outcome !== 'up') throw new Error(`the production server did not start (${outcome}):\n${output}`);
  });

  afterAll(async () => {
    if (api && api.exitCode === null) {
      const gone = new Promise((r) => api!.once('exit', r));
      api.kill('SIGTERM');
      await gone;
    }
    await new Promise((r) => jwks?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  const sign = (claims: { exp?: boolean; role?: string; sub?: string } = {}) => {
    const jwt = new SignJWT(claims.role ? { role: claims.role } : {})
      .setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' })
      .setSubject(claims.sub ?? `cust-${randomUUID()}`)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt();
    if (claims.exp !== false) jwt.setExpirationTime('10m');
    return jwt.sign(rsa.privateKey);
  };

  test('a token from the provider with exp is accepted (keys fetched over https)', async () => {
    const sub = `cust-${randomUUID()}`;
    const r = await gql(url, await sign({ sub, role: 'provider' }));
    expect(r.errors).toBeUndefined();
    expect(r.data?.me).toEqual({ id: sub, role: 'provider' });
    expect(jwksRequests).toBeGreaterThan(0);
  });

  test('the same token without exp is UNAUTHENTICATED', async () => {
    const r = await gql(url, await sign({ exp: false, role: 'admin' }));
    expect(codeOf(r)).toBe('UNAUTHENTICATED');
    expect(r.errors?.[0].message).toMatch(/exp/);
    expect(r.data ?? null).toBeNull();
  });
});

describe('production with an HS256 secret', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ NODE_ENV: 'production', STRIPE_SECRET_KEY: 'sk_test_unused', STRIPE_WEBHOOK_SECRET: 'whsec_unused', RUN_WORKER: 'false' });
  });
  afterAll(() => s.stop());

  const hs256 = (exp: boolean, sub = `cust-${randomUUID()}`) => {
    const jwt = new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt();
    if (exp) jwt.setExpirationTime('10m');
    return jwt.sign(new TextEncoder().encode(TEST_SECRET));
  };

  test('a token without exp is UNAUTHENTICATED, one with exp is accepted', async () => {
    const refused = await s.gql(ME, {}, await hs256(false));
    expect(codeOf(refused)).toBe('UNAUTHENTICATED');
    expect(refused.data ?? null).toBeNull();
    const sub = `cust-${randomUUID()}`;
    const ok = await s.gql(ME, {}, await hs256(true, sub));
    expect(ok.errors).toBeUndefined();
    expect(ok.data?.me).toEqual({ id: sub, role: 'admin' });
  });
});

describe('outside production', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ RUN_WORKER: 'false' });
  });
  afterAll(() => s.stop());

  test('a development token without exp still works (npm run token sets one anyway)', async () => {
    const sub = `cust-${randomUUID()}`;
    const t = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).sign(new TextEncoder().encode(TEST_SECRET));
    const r = await s.gql(ME, {}, t);
    expect(r.errors).toBeUndefined();
    expect(r.data?.me.id).toBe(sub);
  });
});
