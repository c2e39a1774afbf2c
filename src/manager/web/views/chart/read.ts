/** Reading the patient's records at one provider through its gatekeeper, each pointer checked against the chain (integrity.ts). */
import type { Resource } from '@medplum/fhirtypes';
import type { RelationshipState } from '../../../../sdk/summary.js';
import { resourcesOf } from '../../lib/fhir.js';
import type { Session } from '../../lib/session.js';
import { checkPointers, type LedgerCheckResult, type PointerCheck } from './integrity.js';

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
  /** Runs the ledger check again (records not read again): how the chart follows a pointer that is publishing. */
  recheck?: () => Promise<LedgerCheckResult>;
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
    const recheck = () => checkPointers(gk, s.ledger, rel);
    const { checks, checkedAt } = await recheck();
    return { provider: label, relationship: rel, resources: everything, verified: checks.every((c) => c.matches), checks, checkedAt, recheck };
  } catch (err) {
    return { provider: label, relationship: rel, resources: [], error: (err as Error).message };
  }
}
