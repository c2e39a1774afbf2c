/**
 * The record writes of the fault suite: Observations that carry their own id, as resource id and as an
 * identifier, so that a write retried after its answer was lost is stored once (the retry gets 409)
 * and can be counted in the store. Kept apart from fault-lab.ts so the EHR child (fault-ehr.ts) loads
 * nothing else.
 */
import type { Observation } from '@medplum/fhirtypes';

/** The identifier system of the workload's writes: each carries its own id, so a retried write is found once. */
export const WRITE_SYSTEM = 'urn:medledger:fault-write';

export function observation(patientId: string, id: string, category: string): Observation {
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    identifier: [{ system: WRITE_SYSTEM, value: id }],
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: category }] }],
    code: { coding: [{ system: 'http://loinc.org', code: category === 'laboratory' ? '2345-7' : '8867-4' }] },
    subject: { reference: `Patient/${patientId}` },
    valueQuantity: { value: id.length, unit: '1' },
  };
}
