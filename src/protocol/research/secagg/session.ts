/**
 * One round's parameters and the messages of its four phases: plain JSON, so they travel over HTTP
 * as they are (keys, shares and ciphertexts as 0x-hex, masked values as decimal strings of integers
 * mod 2^64). Every message names the session, and each reader checks it with `checkMessage`.
 */
import type { Hex } from 'viem';
import { MAX_SITES } from './fixed-point.js';
import { fromHex, KEY_BYTES } from './keys.js';

export interface SecAggSession {
  /** Unique per round of a study (e.g. keccak256 of study id and round): bound into every key. */
  sessionId: Hex;
  /** The sites that may take part, sorted; a site's Shamir point is its position + 1. */
  sites: string[];
  /** Shares needed to recover a secret: more than half the sites. */
  threshold: number;
  /** Length of each site's vector. */
  length: number;
}

/** Phase 0: a site's two fresh x25519 public keys and a commitment to its self-mask seed. */
export interface AdvertiseKeys {
  sessionId: Hex;
  site: string;
  /** c_u^PK: for encrypting the shares sent to this site. */
  cipherPublicKey: Hex;
  /** s_u^PK: for the pairwise masks. */
  maskPublicKey: Hex;
  /** sha256 of the self-mask seed b_u (with a label): lets the coordinator check the seed it rebuilds. */
  selfMaskCommitment: Hex;
}

/** Phase 1: Shamir shares of the sender's mask key and self-mask seed, encrypted for one recipient. */
export interface EncryptedShare {
  sessionId: Hex;
  from: string;
  to: string;
  nonce: Hex;
  ciphertext: Hex;
}

/** Phase 2: a site's input plus its self mask and pairwise masks, each value mod 2^64 in decimal. */
export interface MaskedInput {
  sessionId: Hex;
  site: string;
  values: string[];
}

export interface RevealedShare {
  /** Whose secret this is a share of. */
  site: string;
  /** The share (a field element mod 2^255 − 19), 32 bytes little-endian. */
  share: Hex;
}

/** Phase 3: the sender's shares of the survivors' self-mask seeds and the dropped sites' mask keys. */
export interface Unmasking {
  sessionId: Hex;
  site: string;
  survivors: string[];
  dropped: string[];
  selfMaskShares: RevealedShare[];
  maskKeyShares: RevealedShare[];
}

/** The smallest threshold allowed for n sites: a strict majority. */
export function minimumThreshold(n: number): number {
  return Math.floor(n / 2) + 1;
}

/** Checks a session and returns it; throws a plain error for each broken rule. */
export function validateSession(session: SecAggSession): SecAggSession {
  const { sessionId, sites, threshold, length } = session;
  if (typeof sessionId !== 'string' || !/^0x[0-9a-fA-F]{32,}$/.test(sessionId)) throw new Error('the session id must be 0x-hex of at least 16 bytes');
  if (!Array.isArray(sites) || sites.some((s) => typeof s !== 'string' || s.length === 0)) throw new Error('sites must be non-empty names');
  if (new Set(sites).size !== sites.length) throw new Error('a site is listed twice');
  if (sites.some((s, i) => i > 0 && sites[i - 1]! > s)) throw new Error('sites must be sorted');
  if (sites.length < 3) throw new Error(`secure aggregation needs at least 3 sites, not ${sites.length}: with 2, each learns the other's input from the sum`);
  if (sites.length > MAX_SITES) throw new Error(`at most ${MAX_SITES} sites (the fixed-point range is set for that many), not ${sites.length}`);
  if (!Number.isInteger(threshold) || threshold < minimumThreshold(sites.length) || threshold > sites.length) {
    throw new Error(`the threshold must be an integer with n/2 < t ≤ n (${minimumThreshold(sites.length)}…${sites.length} for ${sites.length} sites), not ${threshold}`);
  }
  if (!Number.isInteger(length) || length < 1 || length > 1_000_000) throw new Error(`the vector length must be an integer from 1 to 1000000, not ${length}`);
  return session;
}

/** Checks that `message` belongs to this session and comes from a listed site; returns that site. */
export function checkMessage(session: SecAggSession, message: unknown, kind: string, siteField: string = 'site'): string {
  if (typeof message !== 'object' || message === null) throw new Error(`${kind} is not an object`);
  const record = message as Record<string, unknown>;
  if (record.sessionId !== session.sessionId) throw new Error(`${kind} belongs to another session (${String(record.sessionId)})`);
  const site = record[siteField];
  if (typeof site !== 'string' || !session.sites.includes(site)) throw new Error(`${kind} names an unknown site (${String(site)})`);
  return site;
}

/** Throws when a site appears twice among `sites` (one message per site and phase). */
export function checkDistinct(sites: readonly string[], kind: string): void {
  const seen = new Set<string>();
  for (const site of sites) {
    if (seen.has(site)) throw new Error(`two ${kind} from ${site}`);
    seen.add(site);
  }
}

/** Shamir point of a site. */
export function pointOf(session: SecAggSession, site: string): number {
  return session.sites.indexOf(site) + 1;
}

/** A site's advertised keys, decoded. */
export interface PublicKeys {
  cipherPublicKey: Uint8Array;
  maskPublicKey: Uint8Array;
  selfMaskCommitment: Uint8Array;
}

/** Checks the phase-0 messages and decodes them by site; at least `threshold` sites must have advertised. */
export function readAdverts(session: SecAggSession, adverts: readonly AdvertiseKeys[]): Map<string, PublicKeys> {
  if (!Array.isArray(adverts)) throw new Error('the advertised keys must be a list');
  const sites = adverts.map((a) => checkMessage(session, a, 'advertised keys'));
  checkDistinct(sites, 'advertised keys');
  if (sites.length < session.threshold) {
    throw new Error(`only ${sites.length} of ${session.sites.length} sites advertised keys; the threshold is ${session.threshold}`);
  }
  return new Map(
    adverts.map((a) => [
      a.site,
      {
        cipherPublicKey: fromHex(a.cipherPublicKey, KEY_BYTES, `${a.site}'s cipher public key`),
        maskPublicKey: fromHex(a.maskPublicKey, KEY_BYTES, `${a.site}'s mask public key`),
        selfMaskCommitment: fromHex(a.selfMaskCommitment, KEY_BYTES, `${a.site}'s self-mask commitment`),
      },
    ]),
  );
}
