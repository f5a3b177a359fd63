import { SignJWT } from 'jose';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config';

/** Prints a development token signed with the configured HS256 secret: npm run token -- --sub alice --role admin */
async function main() {
  const { values } = parseArgs({
    options: {
      sub: { type: 'string', default: 'alice' },
      role: { type: 'string', default: 'customer' },
      ttl: { type: 'string', default: '12h' },
    },
  });
  const config = loadConfig();
  if (!config.jwt.secret) throw new Error('JWT_JWKS_URL is set: tokens come from your identity provider');
  let jwt = new SignJWT({ role: values.role }).setProtectedHeader({ alg: 'HS256' }).setSubject(values.sub).setIssuedAt().setExpirationTime(values.ttl);
  if (config.jwt.issuer) jwt = jwt.setIssuer(config.jwt.issuer);
  if (config.jwt.audience) jwt = jwt.setAudience(config.jwt.audience);
  console.log(await jwt.sign(new TextEncoder().encode(config.jwt.secret)));
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
