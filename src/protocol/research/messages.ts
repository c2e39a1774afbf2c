/**
 * The site protocol of a consented study over HTTP: what the coordinator sends to each provider's
 * gatekeeper and what it gets back (src/gatekeeper/http/research.ts serves it, src/ml/research/
 * coordinator.ts speaks it). Every request is signed by the study's sponsor and carries the full
 * definition; the site hashes it and compares with the chain before it does anything.
 *
 * One round is the four phases of Bonawitz et al., "Practical Secure Aggregation for
 * Privacy-Preserving Machine Learning", CCS 2017 (https://eprint.iacr.org/2017/281), relayed by the
 * coordinator: keys (advertise), shares (share keys), masked (masked input), unmask (consistency
 * check and unmasking). The coordinator learns the sum over the surviving sites, never one site's update.
 */
import { verifyMessage, type Address, type Hex } from 'viem';
import type { AdvertiseKeys, EncryptedShare, MaskedInput, Unmasking } from './secagg/index.js';
import type { StudyDefinition } from './study.js';

/** The path of a study at a gatekeeper, and of one phase of one of its rounds. */
export const studyPath = (studyId: Hex) => `/research/studies/${studyId}`;
export const ROUND_PHASES = ['keys', 'shares', 'masked', 'unmask'] as const;
export type RoundPhase = (typeof ROUND_PHASES)[number];
export const roundPath = (studyId: Hex, round: number, phase: RoundPhase) => `${studyPath(studyId)}/rounds/${round}/${phase}`;

/** GET /research/studies/{studyId}: this site's consenting patients; `count` is left out for 1–4 (display "<5"). */
export interface StudySiteStatus {
  studyId: Hex;
  provider: Address;
  count?: number;
  display: string;
}

/**
 * A site's phase-0 keys signed with its provider key (EIP-191), so a coordinator relaying them cannot
 * swap in keys of its own and sit between two sites (the man in the middle Bonawitz et al. §6 rule out
 * with a PKI: here the chain's provider addresses, which name the sites).
 */
export interface SignedAdvert extends AdvertiseKeys {
  signature: Hex;
}

/** The text a site signs for its advertised keys. */
export function advertMessage(a: AdvertiseKeys): string {
  return `MedLedger study round keys\n${JSON.stringify([a.sessionId, a.site, a.cipherPublicKey, a.maskPublicKey, a.selfMaskCommitment])}`;
}

/** The adverts without signatures, once each is shown to be signed by the site it names; throws naming the first that is not. */
export async function verifiedAdverts(adverts: readonly SignedAdvert[]): Promise<AdvertiseKeys[]> {
  const checks = await Promise.all(
    adverts.map((a) =>
      Promise.resolve()
        .then(() => verifyMessage({ address: a.site as Address, message: advertMessage(a), signature: a.signature }))
        .catch(() => false),
    ),
  );
  const bad = checks.findIndex((ok) => !ok);
  if (bad >= 0) throw new Error(`the keys advertised for ${String(adverts[bad]?.site)} are not signed by that site`);
  return adverts.map(({ signature: _s, ...a }) => a);
}

/** Phase 0. `sites`: every provider asked to take part in this round (its secure-aggregation group). */
export interface KeysRequest {
  definition: StudyDefinition;
  sites: Address[];
  /** The model this round starts from (the coordinator's, after the previous round; JSON). */
  model: unknown;
}
export interface KeysAnswer {
  provider: Address;
  advert: SignedAdvert;
  /** The length of this site's update (every site's must agree). */
  length: number;
  /** consentSetHash of the patients this round used here (consent-sets.ts). */
  consentSetHash: Hex;
}

/** Phase 1: every advert the coordinator received, as signed. */
export interface SharesRequest {
  definition: StudyDefinition;
  adverts: SignedAdvert[];
}
export interface SharesAnswer {
  shares: EncryptedShare[];
}

/** Phase 2: the encrypted shares addressed to this site. */
export interface MaskedRequest {
  definition: StudyDefinition;
  shares: EncryptedShare[];
}
export interface MaskedAnswer {
  masked: MaskedInput;
}

/** Phase 3: which sites sent a masked input and which did not. */
export interface UnmaskRequest {
  definition: StudyDefinition;
  survivors: Address[];
  dropped: Address[];
}
export interface UnmaskAnswer {
  unmasking: Unmasking;
}

/** POST /research/studies/{studyId}/evaluate: this site's held-out results for a final model. */
export interface EvaluateRequest {
  definition: StudyDefinition;
  model: unknown;
  /** Every site of the study's last round (a site-specific intercept is found by the site's place among them). */
  sites: Address[];
}
export interface EvaluateAnswer {
  provider: Address;
  /** What ResearchSite.evaluate returned (aggregates only). */
  result: unknown;
}
