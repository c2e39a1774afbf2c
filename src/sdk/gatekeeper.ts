/**
 * Talking to a provider's gatekeeper: every request signed with the caller's key (EIP-712), or a
 * session token after a signed login. Answers come back as FHIR JSON with the data hash header.
 *
 * @example
 * const gk = gatekeeperClient({ url: 'http://127.0.0.1:8081', gatekeeper: providerAddress, chainId: 31337, account });
 * const bundle = await gk.get('/fhir/R4/Observation?category=laboratory');
 */
import type { Address, Hex, LocalAccount } from 'viem';
import { HEADERS, signRequest } from '../protocol/request-signature.js';
import { BREAK_GLASS_HEADER, formatBreakGlassHeader, type BreakGlassStatement } from './emergency.js';

export interface GatekeeperClientOptions {
  url: string;
  /** The provider address the gatekeeper serves (part of what is signed). */
  gatekeeper: Address;
  chainId: number;
  account: LocalAccount;
  /** Read under this open break-glass (src/sdk/emergency.ts openBreakGlass's statement): sent with every request. */
  breakGlass?: BreakGlassStatement;
}

export interface GatekeeperResponse<T = unknown> {
  status: number;
  body: T;
  /** keccak256 of the canonical result set, from the gatekeeper. */
  dataHash?: Hex;
  /** Every response header (names case-insensitive; in a browser only those the gatekeeper's CORS exposes). */
  headers: Headers;
}

/**
 * The words of an OperationOutcome: each error issue's `diagnostics`, else its `details.text`
 * (https://hl7.org/fhir/R4/operationoutcome.html — medplum's validator and search parser fill only
 * `details.text`), joined with "; ". Empty when the answer is no OperationOutcome.
 */
export function outcomeText(outcome: unknown): string {
  const issues = (outcome as { issue?: unknown })?.issue;
  if (!Array.isArray(issues)) return '';
  const texts = issues.flatMap((i: { severity?: unknown; diagnostics?: unknown; details?: { text?: unknown } } | null) => {
    if (i?.severity === 'information' || i?.severity === 'warning') return [];
    const text = typeof i?.diagnostics === 'string' ? i.diagnostics : i?.details?.text;
    return typeof text === 'string' && text ? [text] : [];
  });
  return [...new Set(texts)].join('; ');
}

/** Thrown for non-2xx answers; `outcome` is the OperationOutcome the gatekeeper sent, `detail` its words. */
export class GatekeeperRequestError extends Error {
  readonly detail: string;
  constructor(
    readonly status: number,
    readonly outcome: unknown,
  ) {
    const detail = outcomeText(outcome);
    super(`gatekeeper answered ${status}${detail ? `: ${detail}` : ''}`);
    this.detail = detail;
    this.name = 'GatekeeperRequestError';
  }
}

export function gatekeeperClient(options: GatekeeperClientOptions) {
  let token: { value: string; expiresAt: number } | undefined;
  /** A token with at least 5 s left (so it does not expire in flight). */
  const tokenFresh = () => token !== undefined && token.expiresAt > Date.now() / 1000 + 5;

  async function send<T>(method: string, target: string, body?: unknown, useToken = false): Promise<GatekeeperResponse<T>> {
    // Sign exactly what goes on the wire: fetch percent-encodes the URL, so normalise it first.
    const wire = new URL(target, options.url);
    const path = `${wire.pathname}${wire.search}`;
    const text = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = text ? { 'content-type': 'application/fhir+json' } : {};
    if (options.breakGlass) headers[BREAK_GLASS_HEADER] = formatBreakGlassHeader(options.breakGlass);
    if (useToken && tokenFresh()) {
      headers.authorization = `Bearer ${token!.value}`;
    } else {
      Object.assign(headers, await signRequest(options.account, { method, path, body: text, gatekeeper: options.gatekeeper, chainId: options.chainId }));
    }
    const res = await fetch(`${options.url}${path}`, { method, headers, body: text });
    const json = (await res.json()) as T;
    if (!res.ok) throw new GatekeeperRequestError(res.status, json);
    return { status: res.status, body: json, dataHash: (res.headers.get(HEADERS.dataHash) as Hex | null) ?? undefined, headers: res.headers };
  }

  return {
    /** A signed GET. */
    get: <T = unknown>(path: string) => send<T>('GET', path),
    /** A GET with the session token (logs in first when there is none). */
    getWithToken: async <T = unknown>(path: string) => {
      if (!tokenFresh()) await login();
      return send<T>('GET', path, undefined, true);
    },
    post: <T = unknown>(path: string, body: unknown) => send<T>('POST', path, body),
    put: <T = unknown>(path: string, body: unknown) => send<T>('PUT', path, body),
    login,
  };

  async function login(): Promise<string> {
    const r = await send<{ token: string; expiresAt: number }>('POST', '/auth/login');
    token = { value: r.body.token, expiresAt: r.body.expiresAt };
    return token.value;
  }
}

export type GatekeeperClient = ReturnType<typeof gatekeeperClient>;
