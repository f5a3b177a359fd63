import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey, type JWTPayload } from 'jose';
import type { Config } from '../config';
import { UnauthenticatedError } from '../shared/errors';
import { Role } from '../modules/customer/customer.entity';

/** Who is calling, as proven by a verified token. */
export interface Principal {
  /** The customer id (`sub`). */
  sub: string;
  role: Role;
}

const ROLES = new Set<string>(Object.values(Role));
const MAX_TOKEN_LENGTH = 8192;

/** Verifies bearer tokens with jose: HS256 with a shared secret, or RS256/ES256 keys from a JWKS URL. */
export class TokenVerifier {
  private readonly key: Promise<CryptoKey> | JWTVerifyGetKey;
  private readonly algorithms: string[];

  constructor(private readonly jwt: Config['jwt']) {
    if (jwt.jwksUrl) {
      this.key = createRemoteJWKSet(new URL(jwt.jwksUrl), { timeoutDuration: 5_000, cooldownDuration: 30_000 });
      this.algorithms = ['RS256', 'ES256'];
    } else {
      // Imported once: given raw bytes, jose would import the key again on every verification.
      this.key = crypto.subtle.importKey('raw', new TextEncoder().encode(jwt.secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
      this.algorithms = ['HS256'];
    }
  }

  /** Reads `Bearer <jwt>` (the scheme is optional) and verifies it; throws UNAUTHENTICATED otherwise. */
  async verifyHeader(header: string): Promise<Principal> {
    const token = header.replace(/^\s*Bearer\s+/i, '').trim();
    return this.verify(token);
  }

  /** Verifies a compact JWT: signature, algorithm, exp/nbf, issuer and audience when configured. */
  async verify(token: string): Promise<Principal> {
    if (!token || token.length > MAX_TOKEN_LENGTH) throw new UnauthenticatedError('Invalid token');
    let payload: JWTPayload;
    try {
      const options = { algorithms: this.algorithms, issuer: this.jwt.issuer, audience: this.jwt.audience, clockTolerance: 5 };
      payload =
        typeof this.key === 'function'
          ? (await jwtVerify(token, this.key, options)).payload
          : (await jwtVerify(token, await this.key, options)).payload;
    } catch (e) {
      const code = (e as { code?: string }).code;
      const reason = code === 'ERR_JWT_EXPIRED' ? 'Token expired' : code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' ? 'Token claims rejected' : 'Invalid token';
      throw new UnauthenticatedError(reason);
    }
    const sub = payload.sub;
    if (typeof sub !== 'string' || sub.length < 1 || sub.length > 64) throw new UnauthenticatedError('Token subject must be 1 to 64 characters');
    const role = payload.role ?? Role.CUSTOMER;
    if (typeof role !== 'string' || !ROLES.has(role)) throw new UnauthenticatedError('Token role must be customer, provider or admin');
    return { sub, role: role as Role };
  }
}
