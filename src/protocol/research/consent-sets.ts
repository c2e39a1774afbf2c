/**
 * The consent set a study's result is recorded with on chain (recordResult's consentSetHash), built
 * so that the patient lists never meet in one place:
 *
 *   site    = keccak256(abi.encode(address[] patients ascending))                 (one site, one round)
 *   round   = keccak256(abi.encode(address[] providers ascending, bytes32[] sites)) (the round's sites)
 *   study   = keccak256(abi.encode(bytes32[] rounds in order))                    (every round)
 *
 * The site hash is the one src/ml/consent-set.ts computes; the round hash src/ml/federated-research.ts's
 * combination. A site can show a patient that they were (or, after withdrawing, were not) in its list
 * for a round; anyone holding the per-round site hashes recomputes the study hash and compares.
 */
import { encodeAbiParameters, getAddress, keccak256, type Address, type Hex } from 'viem';

const ascending = (addresses: readonly string[]): Address[] => [...new Set(addresses.map((a) => a.toLowerCase()))].sort().map((a) => getAddress(a));

/** One site's patients in one round. */
export function siteConsentSetHash(patients: readonly string[]): Hex {
  return keccak256(encodeAbiParameters([{ type: 'address[]' }], [ascending(patients)]));
}

/** One round: each provider's site hash, providers ascending. */
export function roundConsentSetHash(sites: readonly { provider: string; consentSetHash: Hex }[]): Hex {
  const sorted = [...sites].sort((a, b) => (a.provider.toLowerCase() < b.provider.toLowerCase() ? -1 : 1));
  return keccak256(encodeAbiParameters([{ type: 'address[]' }, { type: 'bytes32[]' }], [sorted.map((s) => getAddress(s.provider)), sorted.map((s) => s.consentSetHash)]));
}

/** The whole study: its rounds' hashes in order. */
export function studyConsentSetHash(rounds: readonly Hex[]): Hex {
  return keccak256(encodeAbiParameters([{ type: 'bytes32[]' }], [[...rounds]]));
}
