import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MeDocument } from '../__generated__/graphql';
import { codeOf, startTestServer, type TestServer } from '../support/server';

const ISSUER = 'https://id.example.test/';
const AUDIENCE = 'commerce-api';

let s: TestServer;
let jwks: http.Server;
let rsa: { privateKey: CryptoKey; publicKey: CryptoKey };
let ec: { privateKey: CryptoKey; publicKey: CryptoKey };
let stranger: { privateKey: CryptoKey; publicKey: CryptoKey };
let jwksRequests = 0;

beforeAll(async () => {
  rsa = await generateKeyPair('RS256', { extractable: true });
  ec = await generateKeyPair('ES256', { extractable: true });
  stranger = await generateKeyPair('RS256', { extractable: true });
  const keys: JWK[] = [
    { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
    { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
  ];
  jwks = http.createServer((_req, res) => {
    jwksRequests++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  const port = (jwks.address() as AddressInfo).port;
  s = await startTestServer({
    JWT_SECRET: undefined,
    JWT_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
  });
});
afterAll(async () => {
  await s.stop();
  await new Promise((resolve) => jwks.close(resolve));
});

function sign(
  key: CryptoKey | Uint8Array,
  alg: string,
  kid: string,
  claims: { sub?: string; iss?: string; aud?: string; role?: string } = {},
): Promise<string> {
  const { sub = `cust-${randomUUID()}`, iss = ISSUER, aud = AUDIENCE, role } = claims;
  return new SignJWT(role ? { role } : {})
    .setProtectedHeader({ alg, kid })
    .setSubject(sub)
    .setIssuer(iss)
    .setAudience(aud)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(key);
}

test('RS256 and ES256 tokens from the identity provider are accepted', async () => {
  const sub = `cust-${randomUUID()}`;
  const r1 = await s.gql(MeDocument, {}, await sign(rsa.privateKey, 'RS256', 'rsa-1', { sub, role: 'provider' }));
  expect(r1.errors).toBeUndefined();
  expect(r1.data?.me).toEqual({ id: sub, group: 'default', role: 'provider' });
  const r2 = await s.gql(MeDocument, {}, await sign(ec.privateKey, 'ES256', 'ec-1', { sub }));
  expect(r2.errors).toBeUndefined();
  expect(r2.data?.me.id).toBe(sub);
});

describe('refused', () => {
  const refused = async (t: string) => {
    const r = await s.gql(MeDocument, {}, t);
    expect(codeOf(r)).toBe('UNAUTHENTICATED');
    expect(r.data ?? null).toBeNull();
  };

  test('wrong issuer', () => sign(rsa.privateKey, 'RS256', 'rsa-1', { iss: 'https://evil.example.test/' }).then(refused));
  test('wrong audience', () => sign(rsa.privateKey, 'RS256', 'rsa-1', { aud: 'someone-else' }).then(refused));
  test('unknown kid', () => sign(stranger.privateKey, 'RS256', 'stranger-1').then(refused));
  test('a known kid with a key that is not the provider’s', () => sign(stranger.privateKey, 'RS256', 'rsa-1').then(refused));

  test('algorithm confusion: HS256 signed with the RSA public key', async () => {
    const publicPem = await exportSPKI(rsa.publicKey);
    await refused(await sign(new TextEncoder().encode(publicPem), 'HS256', 'rsa-1'));
    const jwk = JSON.stringify(await exportJWK(rsa.publicKey));
    await refused(await sign(new TextEncoder().encode(jwk), 'HS256', 'rsa-1'));
  });

  test('alg: none', async () => {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const exp = Math.floor(Date.now() / 1000) + 600;
    await refused(`${b64({ alg: 'none', kid: 'rsa-1' })}.${b64({ sub: 'x', iss: ISSUER, aud: AUDIENCE, exp, role: 'admin' })}.`);
  });

  test('the JWKS was fetched from the configured URL', () => {
    expect(jwksRequests).toBeGreaterThan(0);
  });
});
