/**
 * The secure-aggregation session of one study round, as every party derives it for itself: each site
 * (src/gatekeeper/research/rounds.ts) and the coordinator compute it from the study id, the round and
 * the round's sites, so a coordinator cannot hand sites a weak threshold or reuse a session's keys in
 * another round. Sites are named by their provider addresses, lowercase, sorted.
 */
import { encodeAbiParameters, keccak256, type Hex } from 'viem';
import { minimumThreshold, type SecAggSession } from './secagg/index.js';

/** Site names as a session lists them: lowercase addresses, sorted, once each. */
export const sortedSites = (sites: readonly string[]): string[] => [...new Set(sites.map((s) => s.toLowerCase()))].sort();

/** sessionId = keccak256(abi.encode(studyId, round)); threshold a strict majority of the sites. */
export function roundSession(studyId: Hex, round: number, sites: readonly string[], length: number): SecAggSession {
  const sorted = sortedSites(sites);
  const sessionId = keccak256(encodeAbiParameters([{ type: 'bytes32' }, { type: 'uint256' }], [studyId, BigInt(round)]));
  return { sessionId, sites: sorted, threshold: minimumThreshold(sorted.length), length };
}
