/**
 * Short-lived session tokens for high-rate clients: after one signed login, requests carry
 * `Authorization: Bearer <token>` instead of a signature. A token is `payload.mac`, the payload the
 * address and expiry, the MAC an HMAC-SHA256 under a per-gatekeeper secret.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Address } from 'viem';

export const TOKEN_TTL_SECONDS = 900;

export interface TokenIssuer {
  issue(address: Address, now?: number): { token: string; expiresAt: number };
  /** The address the token was issued to, or undefined if it is forged, malformed or expired. */
  verify(token: string, now?: number): Address | undefined;
}

/** Tokens remembered as verified (a client sends the same token for many requests); emptied when full. */
const VERIFIED_MAX = 10_000;

export function createTokenIssuer(secret: Buffer = randomBytes(32), ttlSeconds = TOKEN_TTL_SECONDS): TokenIssuer {
  const mac = (payload: string) => createHmac('sha256', secret).update(payload).digest('base64url');
  // A token whose MAC checked once is the same token next time: only its expiry needs checking again.
  const verified = new Map<string, { address: Address; expiresAt: number }>();
  return {
    issue(address, now = Math.floor(Date.now() / 1000)) {
      const expiresAt = now + ttlSeconds;
      const payload = Buffer.from(`${address}:${expiresAt}`).toString('base64url');
      return { token: `${payload}.${mac(payload)}`, expiresAt };
    },
    verify(token, now = Math.floor(Date.now() / 1000)) {
      const known = verified.get(token);
      if (known) return known.expiresAt > now ? known.address : undefined;
      const [payload, given, extra] = token.split('.');
      if (!payload || !given || extra !== undefined) return undefined;
      const expected = Buffer.from(mac(payload));
      const actual = Buffer.from(given);
      if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return undefined;
      const [address, expiresAt] = Buffer.from(payload, 'base64url').toString().split(':');
      if (!address || !/^0x[0-9a-fA-F]{40}$/.test(address) || !(Number(expiresAt) > now)) return undefined;
      if (verified.size >= VERIFIED_MAX) verified.clear();
      verified.set(token, { address: address as Address, expiresAt: Number(expiresAt) });
      return address as Address;
    },
  };
}
