/**
 * Test fixture for gatekeepers: a chain, a provider running a gatekeeper over a fresh store (PGlite
 * in memory, or PostgreSQL when MEDLEDGER_TEST_DATABASE_URL is set), and signed clients.
 */
import type { LocalAccount } from 'viem';
import { startGatekeeper, type GatekeeperOptions, type RunningGatekeeper } from '../../src/gatekeeper/run.js';
import { gatekeeperClient } from '../../src/sdk/gatekeeper.js';
import type { LedgerClient } from '../../src/chain/client.js';
import { signRequest } from '../../src/protocol/request-signature.js';
import { testDatabase } from './db.js';

/** A gatekeeper for `ledger`'s provider on a fresh test database; `options` as startGatekeeper's (limits, pepper, …). */
export async function startTestGatekeeper(ledger: LedgerClient, options: Omit<GatekeeperOptions, 'ledger' | 'database'> = {}): Promise<RunningGatekeeper> {
  return startGatekeeper({ ...options, ledger, database: await testDatabase() });
}

export function clientFor(gk: RunningGatekeeper, ledger: LedgerClient, account: LocalAccount) {
  return gatekeeperClient({ url: gk.url, gatekeeper: gk.chain.provider, chainId: ledger.chainId, account });
}

/** How a raw request proves who sent it: signed by `account` over exactly this body, or a session token. */
export type RawAuth = { account: LocalAccount } | { token: string } | 'none';

/**
 * Sends `body` exactly as given (bytes, with `contentType` or none), unlike the SDK client, which
 * serialises JSON itself: for requests the SDK cannot make (hostile bodies, other content types).
 */
export async function sendRaw(
  gk: RunningGatekeeper,
  ledger: LedgerClient,
  auth: RawAuth,
  request: { method: string; path: string; body?: string; contentType?: string },
): Promise<{ status: number; body: { resourceType?: string; issue?: { code?: string; diagnostics?: string }[] } }> {
  const { method, path, body, contentType } = request;
  let headers: Record<string, string> = {};
  if (auth !== 'none' && 'token' in auth) headers = { authorization: `Bearer ${auth.token}` };
  else if (auth !== 'none') headers = await signRequest(auth.account, { method, path, body, gatekeeper: gk.chain.provider, chainId: ledger.chainId });
  if (contentType) headers['content-type'] = contentType;
  // Bytes, not a string: fetch would add `content-type: text/plain` to a string body.
  const res = await fetch(`${gk.url}${path}`, { method, headers, body: body === undefined ? undefined : Buffer.from(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}
