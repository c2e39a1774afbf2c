/**
 * The SMART token endpoint (https://hl7.org/fhir/smart-app-launch/app-launch.html#obtain-access-token,
 * RFC 6749 §4.1.3, §6; Backend Services: https://hl7.org/fhir/smart-app-launch/backend-services.html):
 *
 * - authorization_code + PKCE S256: the code is the patient's signed approval (protocol/smart/
 *   authorization-code.ts), redeemed once, for the registered redirect URI, by the code_verifier;
 * - refresh_token: only while the app still holds a live grant from the patient, and never past
 *   the grant's expiry;
 * - client_credentials + private_key_jwt (RFC 7523): an assertion signed ES384 or RS384 with a key
 *   of the app's registered JWKS, each `jti` used once.
 *
 * Every answer says what the chain allows at that moment; a token with no live grant behind it is
 * never issued.
 */
import type { FastifyRequest } from 'fastify';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { verifyMessage, type Address } from 'viem';
import { validateSiweMessage } from 'viem/siwe';
import { approvedBy, decodeCode, pkceChallenge } from '../../protocol/smart/authorization-code.js';
import { parseScopes } from '../../consent/smart.js';
import { patientIdOf } from '../auth/requester.js';
import { useNonce } from '../auth/nonces.js';
import type { GatekeeperContext } from '../http/context.js';
import { fhirBaseUrl } from '../http/base-url.js';
import { ACCESS_TOKEN_SECONDS, tokenUrl, type TokenClaims } from './authority.js';
import { findApp } from './apps.js';
import { liveGrants, smartRequester } from './access.js';

/** An OAuth error answer (RFC 6749 §5.2). */
export class OAuthError extends Error {
  constructor(
    readonly error: 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unsupported_grant_type' | 'invalid_scope',
    description: string,
    readonly status = error === 'invalid_client' ? 401 : 400,
  ) {
    super(description);
  }
}

/** A refresh token lives at most this long, and never past the grant (below). */
const REFRESH_SECONDS = 30 * 86_400;
/** Client assertions may live at most 5 minutes (Backend Services: "no more than five minutes in the future"). */
const ASSERTION_SECONDS = 300;
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

type Form = Record<string, string | undefined>;

/** POST /smart/token: the token response, or throws OAuthError. */
export async function token(gk: GatekeeperContext, req: FastifyRequest, form: Form): Promise<Record<string, unknown>> {
  switch (form.grant_type) {
    case 'authorization_code':
      return redeemCode(gk, req, form);
    case 'refresh_token':
      return refresh(gk, form);
    case 'client_credentials':
      return clientCredentials(gk, req, form);
    default:
      throw new OAuthError('unsupported_grant_type', 'grant_type must be authorization_code, refresh_token or client_credentials');
  }
}

/** The tokens for `claims` if the app holds a live grant behind them; `refresh` adds a refresh token. */
async function issue(gk: GatekeeperContext, claims: TokenClaims, refresh: boolean): Promise<Record<string, unknown>> {
  const smart = gk.smart!;
  const now = smart.now();
  const grants = liveGrants((await smartRequester(gk.store, gk.chain, claims)).requester, now);
  if (!grants.length) throw new OAuthError('invalid_grant', 'the app holds no live on-chain grant for these scopes');
  const body: Record<string, unknown> = {
    access_token: await smart.issue(claims, 'access', now + ACCESS_TOKEN_SECONDS),
    token_type: 'Bearer',
    expires_in: ACCESS_TOKEN_SECONDS,
    scope: claims.scope,
    ...(claims.patient ? { patient: claims.patient } : {}),
  };
  if (refresh) {
    // Never outlives the grant: the latest expiry among the grants behind it (0 = none).
    const last = grants.some((g) => g.expiresAt === 0) ? Infinity : Math.max(...grants.map((g) => g.expiresAt));
    body.refresh_token = await smart.issue(claims, 'refresh', Math.min(now + REFRESH_SECONDS, last));
  }
  return body;
}

async function redeemCode(gk: GatekeeperContext, req: FastifyRequest, form: Form): Promise<Record<string, unknown>> {
  const signed = form.code ? decodeCode(form.code) : undefined;
  const parsed = signed && approvedBy(signed.message);
  if (!signed || !parsed) throw new OAuthError('invalid_grant', 'code is malformed');
  const { approved, fields } = parsed;
  const address = fields.address as Address;
  const valid =
    validateSiweMessage({ message: fields, time: new Date(gk.smart!.now() * 1000) }) &&
    fields.chainId === gk.ledger.chainId &&
    (await verifyMessage({ address, message: signed.message, signature: signed.signature }).catch(() => false));
  if (!valid) throw new OAuthError('invalid_grant', 'code is expired, forged or for another chain');
  if (approved.aud !== fhirBaseUrl(req)) throw new OAuthError('invalid_grant', `code is for ${approved.aud}, not this server`);
  // EIP-4361's phishing guard: the message names the site it was signed on, which must be our authorize page's.
  const authorizeUrl = gk.smart!.authorizeUrl;
  if (authorizeUrl && fields.domain !== new URL(authorizeUrl).host) throw new OAuthError('invalid_grant', `code was signed on ${fields.domain}, not on this server's authorize page`);
  if (form.client_id !== approved.clientId || form.redirect_uri !== approved.redirectUri) throw new OAuthError('invalid_grant', 'client_id or redirect_uri differ from the authorization request');
  const app = await findApp(gk.db, approved.clientId);
  if (!app?.redirectUris.includes(approved.redirectUri)) throw new OAuthError('invalid_client', 'unknown client, or redirect_uri not registered for it');
  if (!form.code_verifier || (await pkceChallenge(form.code_verifier)) !== approved.codeChallenge) throw new OAuthError('invalid_grant', 'code_verifier does not match the code challenge (PKCE S256)');
  const patient = await patientIdOf(gk.store, address);
  if (!patient) throw new OAuthError('invalid_grant', 'the signer is not a patient of this provider');
  // One use: the nonce is claimed for as long as the code could be presented.
  const expiry = Math.floor((fields.expirationTime?.getTime() ?? 0) / 1000);
  if (!(await useNonce(gk.db, address, `smart-code:${fields.nonce}`, expiry))) throw new OAuthError('invalid_grant', 'code was already used');
  const others = new Set(parseScopes(approved.scope).flatMap((s) => (s.kind === 'other' ? [s.text] : [])));
  const body = await issue(gk, { sub: app.address, client_id: app.clientId, scope: approved.scope, patient }, others.has('offline_access'));
  // OpenID Connect for `openid fhirUser` (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#scopes-for-requesting-identity-data): who approved, as a FHIR resource URL.
  if (others.has('openid') && others.has('fhirUser')) {
    const iss = fhirBaseUrl(req);
    body.id_token = await gk.smart!.idToken({ iss, sub: address, aud: app.clientId, fhirUser: `${iss}/Patient/${patient}` }, gk.smart!.now() + ACCESS_TOKEN_SECONDS);
  }
  return body;
}

async function refresh(gk: GatekeeperContext, form: Form): Promise<Record<string, unknown>> {
  const claims = form.refresh_token ? await gk.smart!.verify(form.refresh_token, 'refresh') : undefined;
  if (!claims) throw new OAuthError('invalid_grant', 'refresh token is invalid or expired');
  if (form.scope) throw new OAuthError('invalid_scope', 'a refresh keeps the scopes the patient approved');
  return issue(gk, claims, true);
}

async function clientCredentials(gk: GatekeeperContext, req: FastifyRequest, form: Form): Promise<Record<string, unknown>> {
  if (form.client_assertion_type !== JWT_BEARER || !form.client_assertion) throw new OAuthError('invalid_client', `client_assertion_type must be ${JWT_BEARER}, with a client_assertion`);
  let clientId: unknown;
  try {
    clientId = decodeJwt(form.client_assertion).iss;
  } catch {
    throw new OAuthError('invalid_client', 'client_assertion is not a JWT');
  }
  const app = typeof clientId === 'string' ? await findApp(gk.db, clientId) : undefined;
  if (!app?.jwks) throw new OAuthError('invalid_client', 'unknown client, or it registered no public keys');
  const now = gk.smart!.now();
  let payload;
  try {
    ({ payload } = await jwtVerify(form.client_assertion, createLocalJWKSet(app.jwks), {
      algorithms: ['ES384', 'RS384'],
      issuer: app.clientId,
      subject: app.clientId,
      audience: tokenUrl(req),
      currentDate: new Date(now * 1000),
      requiredClaims: ['exp', 'jti'],
    }));
  } catch (err) {
    throw new OAuthError('invalid_client', `client_assertion refused: ${(err as Error).message}`);
  }
  if (payload.exp! > now + ASSERTION_SECONDS) throw new OAuthError('invalid_client', 'client_assertion expires more than 5 minutes ahead');
  if (!(await useNonce(gk.db, app.address, `smart-jti:${payload.jti}`, payload.exp!))) throw new OAuthError('invalid_client', 'client_assertion jti was already used');
  const scope = form.scope ?? '';
  try {
    parseScopes(scope);
  } catch (err) {
    throw new OAuthError('invalid_scope', (err as Error).message);
  }
  return issue(gk, { sub: app.address, client_id: app.clientId, scope }, false);
}
