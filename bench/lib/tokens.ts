import { SignJWT } from 'jose';
import { BENCH_JWT_SECRET } from './settings';

const key = new TextEncoder().encode(BENCH_JWT_SECRET);

/** Signs a bench token for `sub` (valid for a day). */
export function token(sub: string, role: 'customer' | 'provider' | 'admin' = 'customer'): Promise<string> {
  return new SignJWT({ role }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime('24h').sign(key);
}

/** Tokens for many subjects. */
export function tokens(subs: string[], role: 'customer' | 'provider' | 'admin' = 'customer'): Promise<string[]> {
  return Promise.all(subs.map((s) => token(s, role)));
}
