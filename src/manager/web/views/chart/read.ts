/** Reading the patient's records at one provider through its gatekeeper, each pointer checked against the chain (integrity.ts). */
import type { Resource } from '@medplum/fhirtypes';
import type { RelationshipState } from '../../../../sdk/summary.js';
import { resourcesOf } from '../../lib/fhir.js';
import type { Session } from '../../lib/session.js';
import { checkPointers, type PointerCheck } from './integrity.js';

export interface ProviderRecords {
  provider: string;
  /** The relationship read (its status says whether the patient declined it). */
  relationship?: RelationshipState;
  resources: Resource[];
  /** Every pointer's data matches its hash on chain. */
  verified?: boolean;
  checks?: PointerCheck[];
  /** The chain block the checks were made at. */
  checkedAt?: string;
  error?: string;
}

/**
 * Reads the patient's records at one provider (Patient/$everything), and checks them independently of
 * the gatekeeper: each pointer's query is run, and the keccak256 of its canonical result set is
 * compared, here in the browser, with the data hash on chain.
 */
export async function recordsAt(s: Session, rel: RelationshipState): Promise<ProviderRecords> {
  const label = s.nameOf(rel.provider);
  try {
    const gk = s.gatekeeper(rel.provider);
    const me = resourcesOf((await gk.get('/fhir/R4/Patient')).body)[0];
    if (!me?.id) return { provider: label, relationship: rel, resources: [], error: 'this provider has not linked your record yet' };
    const everything = resourcesOf((await gk.get(`/fhir/R4/Patient/${me.id}/$everything`)).body);
    const checks = await checkPointers(gk, s.ledger, rel);
    const checkedAt = String(await s.ledger.publicClient.getBlockNumber({ cacheTime: 0 }));
    return { provider: label, relationship: rel, resources: everything, verified: checks.every((c) => c.matches), checks, checkedAt };
  } catch (err) {
    return { provider: label, relationship: rel, resources: [], error: (err as Error).message };
  }
}
