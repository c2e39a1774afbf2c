/**
 * The SMART authorization code, shared by the EHR Manager (which writes it) and the gatekeeper's
 * token endpoint (which redeems it). The code is the patient's own Sign-In with Ethereum message
 * (EIP-4361, https://eips.ethereum.org/EIPS/eip-4361) signed in their browser: it names the app, the
 * redirect URI, the approved scopes and the PKCE challenge (RFC 7636) in its one resource URI, the
 * FHIR server (`aud`) as its URI, and lives two minutes. So the authorization server holds no state
 * between the two ends, the key never leaves the browser, and the token endpoint can check who
 * approved what. The consent itself is the on-chain grants written before the code.
 *
 * Built with viem/siwe rather than the `siwe` package, which needs ethers as a peer; viem is ours.
 */
import { createSiweMessage, parseSiweMessage } from 'viem/siwe';
import type { Address, Hex } from 'viem';

/** The resource URI's prefix: everything the patient approved, as query parameters. */
export const AUTHORIZATION_URN = 'urn:medledger:smart-authorization';
/** How long a code may wait for the token request (RFC 6749 §4.1.2: "a maximum … of 10 minutes is RECOMMENDED"). */
export const CODE_LIFETIME_SECONDS = 120;

/** What the patient approved, as the app asked it (RFC 6749 §4.1.1 + PKCE). */
export interface ApprovedAuthorization {
  clientId: string;
  redirectUri: string;
  /** The approved scopes (space-separated), at most those the app asked for. */
  scope: string;
  codeChallenge: string;
  /** The FHIR base URL the token is for (SMART `aud`). */
  aud: string;
}

/** The text the patient signs. `domain` is the host of the page they approved on. */
export function authorizationMessage(p: { domain: string; address: Address; chainId: number; statement: string; nonce: string; issuedAt: Date; approved: ApprovedAuthorization }): string {
  const q = new URLSearchParams({ client_id: p.approved.clientId, redirect_uri: p.approved.redirectUri, scope: p.approved.scope, code_challenge: p.approved.codeChallenge, code_challenge_method: 'S256' });
  return createSiweMessage({
    domain: p.domain,
    address: p.address,
    statement: p.statement,
    uri: p.approved.aud,
    version: '1',
    chainId: p.chainId,
    nonce: p.nonce,
    issuedAt: p.issuedAt,
    expirationTime: new Date(p.issuedAt.getTime() + CODE_LIFETIME_SECONDS * 1000),
    resources: [`${AUTHORIZATION_URN}?${q.toString()}`],
  });
}

/** What a signed message approves, or undefined when it is not an authorization message. */
export function approvedBy(message: string): { approved: ApprovedAuthorization; fields: ReturnType<typeof parseSiweMessage> } | undefined {
  const fields = parseSiweMessage(message);
  const resource = fields.resources?.find((r) => r.startsWith(`${AUTHORIZATION_URN}?`));
  if (!resource || !fields.uri) return undefined;
  const q = new URLSearchParams(resource.slice(AUTHORIZATION_URN.length + 1));
  const [clientId, redirectUri, scope, codeChallenge] = ['client_id', 'redirect_uri', 'scope', 'code_challenge'].map((k) => q.get(k));
  if (!clientId || !redirectUri || !scope || !codeChallenge || q.get('code_challenge_method') !== 'S256') return undefined;
  return { approved: { clientId, redirectUri, scope, codeChallenge, aud: fields.uri }, fields };
}

const toBase64Url = (text: string) => btoa(String.fromCharCode(...new TextEncoder().encode(text))).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
const fromBase64Url = (b64: string) => new TextDecoder().decode(Uint8Array.from(atob(b64.replaceAll('-', '+').replaceAll('_', '/')), (c) => c.charCodeAt(0)));

/** The code handed to the app: the message and its signature, base64url JSON. */
export function encodeCode(message: string, signature: Hex): string {
  return toBase64Url(JSON.stringify({ message, signature }));
}

export function decodeCode(code: string): { message: string; signature: Hex } | undefined {
  try {
    const v = JSON.parse(fromBase64Url(code)) as { message?: unknown; signature?: unknown };
    return typeof v.message === 'string' && typeof v.signature === 'string' && /^0x[0-9a-fA-F]+$/.test(v.signature) ? { message: v.message, signature: v.signature as Hex } : undefined;
  } catch {
    return undefined;
  }
}

/** RFC 7636 §4.2 S256: BASE64URL(SHA256(ASCII(code_verifier))). WebCrypto: the same in the browser and Node. */
export async function pkceChallenge(verifier: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  return btoa(String.fromCharCode(...digest)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}
