/**
 * Who a SMART token reads as: the app's address resolved against the chain like any viewer
 * (auth/requester.ts), its grants limited to the token's patient and narrowed by the token's scopes
 * (consent/smart-grants.ts). Nothing of the grants is in the token, so a revoke or an expiry on chain
 * refuses the app's next request.
 */
import type { Requester, ViewerGrant } from '../../consent/policy.js';
import { parseScopes } from '../../consent/smart.js';
import { narrowGrants } from '../../consent/smart-grants.js';
import type { RecordStore } from '../../records/store.js';
import type { ResolvedRequester } from '../auth/requester.js';
import { resolveRequester } from '../auth/requester.js';
import type { ChainView } from '../chain/chain-view.js';
import type { TokenClaims } from './authority.js';

const NOBODY: Requester = Object.freeze({ role: 'viewer', grants: [] });

// The same resolved requester comes back while nothing changed (requester.ts), so the narrowed one is
// kept by identity too: the policy cache (auth/policy-cache.ts) then compiles it once.
const narrowed = new WeakMap<Requester, Map<string, Requester>>();

/** The requester a token reads as. Never a patient or provider: an app reads only through grants. */
export async function smartRequester(store: RecordStore, chain: ChainView, claims: TokenClaims): Promise<ResolvedRequester> {
  const base = (await resolveRequester(store, chain, claims.sub)).requester;
  if (base.role !== 'viewer') return { requester: NOBODY };
  let byToken = narrowed.get(base);
  if (!byToken) narrowed.set(base, (byToken = new Map()));
  const key = `${claims.patient ?? ''}\n${claims.scope}`;
  let requester = byToken.get(key);
  if (!requester) {
    const grants = claims.patient === undefined ? base.grants : base.grants.filter((g) => g.patientId === claims.patient);
    requester = { role: 'viewer', grants: narrowGrants(grants, parseScopes(claims.scope)) };
    if (byToken.size > 1_000) byToken.clear();
    byToken.set(key, requester);
  }
  return { requester };
}

/** The grants of a requester that are live at `now` (0 = no expiry). */
export function liveGrants(requester: Requester, now: number): ViewerGrant[] {
  return requester.role === 'viewer' ? requester.grants.filter((g) => g.expiresAt === 0 || g.expiresAt > now) : [];
}
