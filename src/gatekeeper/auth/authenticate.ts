/**
 * Authentication: who sent a request — a session token from a signed login, or an EIP-712 signature
 * over the request with a fresh nonce (src/protocol/request-signature.ts) — and who that is here.
 */
import type { FastifyRequest } from 'fastify';
import type { Address } from 'viem';
import type { LedgerClient } from '../../chain/client.js';
import type { Db } from '../../records/db.js';
import type { RecordStore } from '../../records/store.js';
import { verifyRequest, type SignerKeys } from '../../protocol/request-signature.js';
import type { ChainView } from '../chain/chain-view.js';
import { GatekeeperError } from '../http/outcomes.js';
import { statedEmergency } from './break-glass.js';
import { useNonce } from './nonces.js';
import { resolveRequester, type ResolvedRequester } from './requester.js';
import type { TokenIssuer } from './tokens.js';
import { isSmartToken, type SmartAuthority } from '../smart/authority.js';
import { smartRequester } from '../smart/access.js';

export interface AuthDeps {
  /** Where the nonces of signed requests are kept (one use each). */
  db: Db;
  store: RecordStore;
  chain: ChainView;
  ledger: LedgerClient;
  tokens: TokenIssuer;
  /** Public keys of recent signers (request-signature.ts); undefined = recover every signature. */
  signers?: SignerKeys;
  /** Issues and checks SMART access tokens (smart/authority.ts); none = session tokens only. */
  smart?: SmartAuthority;
}

/** The authenticated sender of a request, resolved against this provider's store and the chain. */
export interface Authenticated extends ResolvedRequester {
  address: Address;
}

/**
 * The address a request is from: the session token's, or the signer's (signed for this gatekeeper and
 * chain, over this method, path and raw body, with a nonce never used before). 401 otherwise.
 */
export async function authenticatedAddress(req: FastifyRequest, deps: AuthDeps): Promise<Address> {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) {
    const who = deps.tokens.verify(auth.slice(7));
    if (!who) throw new GatekeeperError(401, 'session token is invalid or expired');
    return who;
  }
  // The raw body as received (json-body.ts): its hash is part of what was signed.
  const raw = (req.body as { raw?: string } | undefined)?.raw;
  const fields = { method: req.method, path: req.url, body: raw, gatekeeper: deps.chain.provider, chainId: deps.ledger.chainId };
  const verified = await verifyRequest(req.headers, fields, undefined, deps.signers);
  if (!(await useNonce(deps.db, verified.address, verified.nonce, verified.expiry))) throw new GatekeeperError(401, 'replayed request (nonce already used)');
  return verified.address;
}

/** Authenticates the request and resolves its sender (provider, patient, viewer; a break-glass it states, confirmed on chain). */
export async function authenticate(req: FastifyRequest, deps: AuthDeps): Promise<Authenticated> {
  // A SMART access token reads as its app, through the grants it holds now (smart/access.ts).
  const bearer = req.headers.authorization?.startsWith('Bearer ') ? req.headers.authorization.slice(7) : undefined;
  if (bearer && deps.smart && isSmartToken(bearer)) {
    const claims = await deps.smart.verify(bearer, 'access');
    if (!claims) throw new GatekeeperError(401, 'access token is invalid or expired');
    return { address: claims.sub, ...(await smartRequester(deps.store, deps.chain, claims)) };
  }
  const address = await authenticatedAddress(req, deps);
  const emergency = await statedEmergency(req.headers, deps.ledger, address);
  return { address, ...(await resolveRequester(deps.store, deps.chain, address, emergency)) };
}
