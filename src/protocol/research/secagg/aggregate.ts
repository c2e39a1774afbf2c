/**
 * The coordinator's side of a round (Bonawitz et al., CCS 2017, §4, round 4, server): sum the
 * survivors' masked inputs, rebuild each survivor's self-mask seed and each dropped site's mask key
 * from at least `threshold` sites' shares, and remove those masks. What is left is the sum of the
 * survivors' inputs; every pairwise mask between two survivors cancelled in the sum by itself.
 * Rebuilt secrets are checked against what the site advertised in phase 0 (the mask key against its
 * public key, the seed against its commitment), so a wrong or altered share is an error, never a
 * silently wrong sum.
 */
import { decodeFixedPoint, MODULUS } from './fixed-point.js';
import { commitment, fromHex, publicKeyOf, toHex } from './keys.js';
import { applyPairwiseMask, applySelfMask } from './masks.js';
import { combineShares, FIELD_BYTES, FIELD_PRIME, bytesToField, fieldToBytes, type Share } from './shamir.js';
import {
  checkDistinct,
  checkMessage,
  pointOf,
  readAdverts,
  validateSession,
  type AdvertiseKeys,
  type MaskedInput,
  type RevealedShare,
  type SecAggSession,
  type Unmasking,
} from './session.js';

/** The sum of the surviving sites' inputs; throws a plain error on any inconsistent or short input. */
export function aggregate(session: SecAggSession, adverts: AdvertiseKeys[], masked: MaskedInput[], unmaskings: Unmasking[]): number[] {
  validateSession(session);
  const keys = readAdverts(session, adverts);
  const sum = sumMasked(session, masked, keys);
  const survivors = masked.map((m) => m.site);
  const dropped = checkUnmaskings(session, unmaskings, survivors, keys);
  const sharesOf = (site: string, field: 'selfMaskShares' | 'maskKeyShares'): Share[] =>
    unmaskings.map((u) => ({ x: pointOf(session, u.site), y: revealed(u[field], site, u.site) }));
  for (const site of survivors) {
    const seed = fieldToBytes(rebuild(sharesOf(site, 'selfMaskShares'), session.threshold, `${site}'s self-mask seed`));
    if (toHex(commitment(session.sessionId, site, seed)) !== toHex(keys.get(site)!.selfMaskCommitment)) {
      throw new Error(`the shares of ${site}'s self-mask seed rebuild a seed that does not match its commitment: a share was altered`);
    }
    applySelfMask(session, sum, site, seed, -1);
  }
  for (const site of dropped) {
    const maskKey = fieldToBytes(rebuild(sharesOf(site, 'maskKeyShares'), session.threshold, `${site}'s mask key`));
    if (toHex(publicKeyOf(maskKey)) !== toHex(keys.get(site)!.maskPublicKey)) {
      throw new Error(`the shares of ${site}'s mask key rebuild a key that does not match its public key: a share was altered`);
    }
    for (const survivor of survivors) applyPairwiseMask(session, sum, survivor, site, maskKey, keys.get(survivor)!.maskPublicKey, -1);
  }
  return decodeFixedPoint(sum);
}

/** Checks the masked inputs (advertised sites, once each, the right length, values mod 2^64) and adds them up. */
function sumMasked(session: SecAggSession, masked: MaskedInput[], keys: Map<string, unknown>): bigint[] {
  if (!Array.isArray(masked)) throw new Error('the masked inputs must be a list');
  const sites = masked.map((m) => checkMessage(session, m, 'a masked input'));
  checkDistinct(sites, 'masked inputs');
  const sum = new Array<bigint>(session.length).fill(0n);
  for (const m of masked) {
    if (!keys.has(m.site)) throw new Error(`a masked input from ${m.site}, which did not advertise keys`);
    if (!Array.isArray(m.values) || m.values.length !== session.length) throw new Error(`${m.site}'s masked input does not have ${session.length} values`);
    m.values.forEach((value, i) => {
      if (typeof value !== 'string' || !/^\d{1,20}$/.test(value) || BigInt(value) >= MODULUS) throw new Error(`${m.site}'s masked value ${i} is not an integer mod 2^64`);
      sum[i] = (sum[i]! + BigInt(value)) % MODULUS;
    });
  }
  return sum;
}

/** Checks that the unmaskings agree on who survived and who dropped, and returns the dropped sites. */
function checkUnmaskings(session: SecAggSession, unmaskings: Unmasking[], survivors: string[], keys: Map<string, unknown>): string[] {
  if (!Array.isArray(unmaskings)) throw new Error('the unmaskings must be a list');
  const senders = unmaskings.map((u) => checkMessage(session, u, 'an unmasking'));
  checkDistinct(senders, 'unmaskings');
  if (unmaskings.length < session.threshold) {
    throw new Error(`only ${unmaskings.length} sites sent their unmasking shares; the threshold is ${session.threshold}, so the sum cannot be recovered`);
  }
  const sameSet = (a: unknown, b: string[]) => Array.isArray(a) && a.length === b.length && b.every((s) => a.includes(s));
  const dropped = unmaskings[0]!.dropped;
  for (const u of unmaskings) {
    if (!survivors.includes(u.site)) throw new Error(`an unmasking from ${u.site}, whose masked input the coordinator does not hold`);
    if (!sameSet(u.survivors, survivors)) throw new Error(`${u.site}'s unmasking names other survivors than the sites whose masked inputs were summed`);
    if (!sameSet(u.dropped, dropped)) throw new Error(`the unmaskings disagree on which sites dropped (${u.site})`);
    if (u.selfMaskShares?.length !== survivors.length || u.maskKeyShares?.length !== dropped.length) {
      throw new Error(`${u.site}'s unmasking must hold one self-mask share per survivor and one key share per dropped site`);
    }
  }
  checkDistinct(dropped, 'dropped entries');
  for (const site of dropped) {
    if (survivors.includes(site)) throw new Error(`${site} is listed both as survivor and as dropped`);
    if (!keys.has(site)) throw new Error(`${site} is listed as dropped but did not advertise keys`);
  }
  return dropped;
}

/** The share of `site`'s secret in one unmasking (sent by `sender`). */
function revealed(shares: RevealedShare[], site: string, sender: string): bigint {
  if (!Array.isArray(shares)) throw new Error(`${sender}'s unmasking has no list of shares`);
  const matching = shares.filter((s) => s?.site === site);
  if (matching.length !== 1) throw new Error(`${sender}'s unmasking has ${matching.length} shares for ${site}, not 1`);
  const value = bytesToField(fromHex(matching[0]!.share, FIELD_BYTES, `${sender}'s share for ${site}`));
  if (value >= FIELD_PRIME) throw new Error(`${sender}'s share for ${site} is not a field element`);
  return value;
}

function rebuild(shares: Share[], threshold: number, what: string): bigint {
  try {
    return combineShares(shares, threshold);
  } catch (error) {
    throw new Error(`cannot rebuild ${what}: ${(error as Error).message}`);
  }
}
