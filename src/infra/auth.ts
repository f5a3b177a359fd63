import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey, type JWTPayload } from 'jose';
import { LRUCache } from 'lru-cache';
import type { Config } from '../config';
import { Role, type Principal } from '../shared/caller';
import { UnauthenticatedError } from '../shared/errors';

export type { Principal };

const ROLES = new Set<string>(Object.values(Role));
const MAX_TOKEN_LENGTH = 8192;
/** Seconds of clock skew allowed on `exp` and `nbf`. */
const CLOCK_TOLERANCE_S = 5;

/** Half of a surrogate pair (`\ud800` in the JSON), which PostgreSQL would store as U+FFFD. */
const UNPAIRED_SURROGATE = /\p{Cs}/u;

/**
 * Whether `sub` can be a customer id: a string of 1 to 64 characters (code points, as PostgreSQL's
 * varchar(64) counts them, so 64 emoji fit) that PostgreSQL stores as it is: it refuses U+0000, and a
 * lone surrogate stored as U+FFFD would make two different subjects one customer.
 */
function usableSubject(sub: unknown): sub is string {
  return typeof sub === 'string' && sub.length >= 1 && sub.length <= 128 && !sub.includes('\u0000') && !UNPAIRED_SURROGATE.test(sub) && [...sub].length <= 64;
}

/** A token verified recently: who it names and the times it is valid between (epoch seconds). */
interface Verified {
  principal: Principal;
  exp?: number;
  nbf?: number;
}

/** Verifies bearer tokens with jose: HS256 with a shared secret, or RS256/ES256 keys from a JWKS URL. */
export class TokenVerifier {
  private readonly key: Promise<CryptoKey> | JWTVerifyGetKey;
  private readonly algorithms: string[];
  /**
   * Tokens verified already, by their whole compact form (signature included), so a client sending the
   * same token on every request pays for one signature check; `exp` and `nbf` are still checked on every
   * use. With a JWKS a token is kept a minute, which bounds how long a key removed from the set keeps
   * working; with the shared secret, fixed for the life of the process, a signature once checked stays
   * good, so it is kept until pushed out by newer ones.
   */
  private readonly verified: LRUCache<string, Verified>;

  constructor(private readonly jwt: Config['jwt']) {
    this.verified = new LRUCache<string, Verified>({ max: 20_000, ...(jwt.jwksUrl ? { ttl: 60_000 } : {}) });
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

  /**
   * Verifies a compact JWT: signature, algorithm, exp/nbf, issuer and audience when configured, and
   * the presence of `exp` when required (production), so no token stays valid forever.
   */
  async verify(token: string): Promise<Principal> {
    if (!token || token.length > MAX_TOKEN_LENGTH) throw new UnauthenticatedError('Invalid token');
    const known = this.verified.get(token);
    const now = Date.now() / 1000;
    if (known && (known.exp === undefined || now <= known.exp + CLOCK_TOLERANCE_S) && (known.nbf === undefined || now >= known.nbf - CLOCK_TOLERANCE_S)) {
      return known.principal;
    }
    let payload: JWTPayload;
    try {
      const options = {
        algorithms: this.algorithms,
        issuer: this.jwt.issuer,
        audience: this.jwt.audience,
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: this.jwt.requireExp ? ['exp'] : [],
      };
      payload =
        typeof this.key === 'function'
          ? (await jwtVerify(token, this.key, options)).payload
          : (await jwtVerify(token, await this.key, options)).payload;
    } catch (e) {
      const { code, claim, reason: why } = e as { code?: string; claim?: string; reason?: string };
      const reason =
        code === 'ERR_JWT_EXPIRED'
          ? 'Token expired'
          : code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && claim === 'exp' && why === 'missing'
            ? 'Token must expire (exp)'
            : code === 'ERR_JWT_CLAIM_VALIDATION_FAILED'
              ? 'Token claims rejected'
              : 'Invalid token';
      throw new UnauthenticatedError(reason);
    }
    const sub = payload.sub;
    if (!usableSubject(sub)) throw new UnauthenticatedError('Token subject must be 1 to 64 characters');
    // JSON reads 1e309 as Infinity: such a token would never expire, even where `exp` is required.
    if ((payload.exp !== undefined && !Number.isFinite(payload.exp)) || (payload.nbf !== undefined && !Number.isFinite(payload.nbf))) {
      throw new UnauthenticatedError('Token claims rejected');
    }
    const role = payload.role ?? Role.CUSTOMER;
    if (typeof role !== 'string' || !ROLES.has(role)) throw new UnauthenticatedError('Token role must be customer, provider or admin');
    const principal: Principal = Object.freeze({ sub, role: role as Role });
    this.verified.set(token, { principal, exp: payload.exp, nbf: payload.nbf });
    return principal;
  }
}
