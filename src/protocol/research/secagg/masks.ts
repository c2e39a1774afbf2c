/**
 * The two masks of Bonawitz et al. §4: the pairwise mask of sites u and v, PRG(s_uv) with s_uv from
 * their x25519 agreement, which u adds and v subtracts (u before v in the session's order) so it
 * cancels in the sum; and a site's self mask PRG(b_u). Both the sites and the coordinator (when it
 * recovers a dropped site's key or a survivor's seed) compute them here, so they agree bit for bit.
 */
import { addInto } from './fixed-point.js';
import { agree, deriveKey, expandMask } from './keys.js';
import type { SecAggSession } from './session.js';

/**
 * Adds (or, with sign −1, removes) `site`'s pairwise mask with `other` to `vector`. The agreement is
 * symmetric, so `privateKey` and `publicKey` are one end's private key and the other end's public
 * key, either way round: the site uses its own key, the coordinator a dropped site's recovered key.
 */
export function applyPairwiseMask(
  session: SecAggSession,
  vector: bigint[],
  site: string,
  other: string,
  privateKey: Uint8Array,
  publicKey: Uint8Array,
  sign: 1 | -1 = 1,
): void {
  const before = session.sites.indexOf(site) < session.sites.indexOf(other);
  const pair = before ? [site, other] : [other, site];
  const key = deriveKey(agree(privateKey, publicKey), session.sessionId, 'pairwise-mask', pair);
  const direction = before ? sign : (-sign as 1 | -1);
  addInto(vector, expandMask(key, session.length), direction);
}

/** Adds (or removes) `site`'s self mask PRG(b_u) to `vector`. */
export function applySelfMask(session: SecAggSession, vector: bigint[], site: string, seed: Uint8Array, sign: 1 | -1 = 1): void {
  addInto(vector, expandMask(deriveKey(seed, session.sessionId, 'self-mask', [site]), session.length), sign);
}
