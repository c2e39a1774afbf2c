/**
 * This gatekeeper as a SMART authorization server (https://hl7.org/fhir/smart-app-launch/): the key
 * its access and refresh tokens are signed with (HS256 under a per-process secret: only this server
 * reads them, like the session tokens of auth/tokens.ts), where the patient approves (the EHR
 * Manager's authorize page), and the clock.
 *
 * A token names the app's address, its scopes and, for a patient app, the patient; it never carries
 * what may be read. That is decided per request from the chain (access.ts), so a revoke in the
 * manager stops the app on its next request.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { SignJWT, exportJWK, generateKeyPair, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import type { Address } from 'viem';

export interface SmartOptions {
  /** The EHR Manager's authorize page (…/smart/authorize); none = no patient launch, backend services only. Read on each discovery request. */
  authorizeUrl?: string;
  /** Unix seconds now (tests move it past an expiry). */
  now?: () => number;
}

export interface SmartAuthority {
  authorizeUrl?: string;
  now(): number;
  issue(claims: TokenClaims, use: 'access' | 'refresh', expiresAt: number): Promise<string>;
  /** The claims of a token this server issued for `use`, or undefined (forged, expired, other use). */
  verify(token: string, use: 'access' | 'refresh'): Promise<TokenClaims | undefined>;
  /** An OpenID Connect id_token (RS256, `openid fhirUser`), checkable with `jwks()`. */
  idToken(claims: { iss: string; sub: string; aud: string; fhirUser: string }, expiresAt: number): Promise<string>;
  /** The public key of id_tokens (served at /smart/jwks). */
  jwks(): Promise<JSONWebKeySet>;
}

export interface TokenClaims {
  /** The app's address: the viewer its grants were written to. */
  sub: Address;
  client_id: string;
  scope: string;
  /** The local Patient id of a patient-context token. */
  patient?: string;
}

export const ACCESS_TOKEN_SECONDS = 300;

/** Tokens remembered as verified (an app sends the same token for many requests); emptied when full. */
const VERIFIED_MAX = 10_000;

export function createSmartAuthority(options: SmartOptions = {}): SmartAuthority {
  const secret = randomBytes(32);
  // Imported once: jose would import raw key bytes again on every sign and verify.
  const key = crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  // A token whose signature checked once is the same token next time: only its expiry is checked again.
  const verified = new Map<string, { claims: TokenClaims; use: string; exp: number }>();
  // Made on first use: only apps asking for `openid` need it.
  let signing: Promise<{ privateKey: CryptoKey; jwks: JSONWebKeySet }> | undefined;
  const idKey = () =>
    (signing ??= generateKeyPair('RS256').then(async ({ privateKey, publicKey }) => ({ privateKey, jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'id-1', alg: 'RS256', use: 'sig' }] } })));
  return {
    // Read when asked: a system whose manager listens on a port chosen at start sets it afterwards.
    get authorizeUrl() {
      return options.authorizeUrl;
    },
    now,
    issue(claims, use, expiresAt) {
      return key.then((k) => new SignJWT({ ...claims, use }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt(now()).setExpirationTime(expiresAt).sign(k));
    },
    async verify(token, use) {
      const known = verified.get(token);
      if (known) return known.use === use && known.exp > now() ? known.claims : undefined;
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, await key, { algorithms: ['HS256'], currentDate: new Date(now() * 1000), requiredClaims: ['exp'] }));
      } catch {
        return undefined;
      }
      if (typeof payload.use !== 'string' || typeof payload.sub !== 'string' || typeof payload.client_id !== 'string' || typeof payload.scope !== 'string') return undefined;
      const { sub, client_id, scope, patient } = payload as unknown as TokenClaims;
      const claims = { sub, client_id, scope, ...(typeof patient === 'string' ? { patient } : {}) };
      if (verified.size >= VERIFIED_MAX) verified.clear();
      verified.set(token, { claims, use: payload.use, exp: payload.exp! });
      return payload.use === use ? claims : undefined;
    },
    async idToken({ iss, sub, aud, fhirUser }, expiresAt) {
      const { privateKey } = await idKey();
      return new SignJWT({ fhirUser }).setProtectedHeader({ alg: 'RS256', kid: 'id-1', typ: 'JWT' }).setIssuer(iss).setSubject(sub).setAudience(aud).setIssuedAt(now()).setExpirationTime(expiresAt).sign(privateKey);
    },
    async jwks() {
      return (await idKey()).jwks;
    },
  };
}

/** A token that is one of ours (a JWT, three parts) rather than a session token (auth/tokens.ts, two). */
export const isSmartToken = (token: string): boolean => token.split('.').length === 3;

/** Where the token endpoint is, as the client addressed this server. */
export function tokenUrl(req: FastifyRequest): string {
  return `${req.protocol}://${req.host}/smart/token`;
}
