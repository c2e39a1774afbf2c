/**
 * Pointer freshness on search answers (issue 19): a search whose query is exactly a pointer query of
 * one patient (what the EHR Manager's integrity check runs, `GET /fhir/R4/<pointer query>&_count=…`)
 * says whether the chain already carries the hash of this answer's records, or a newer hash is still
 * on its way (pending.ts). Documented in ../README.md ("Pointer freshness").
 */
import type { Resource } from '@medplum/fhirtypes';
import { POINTER_HEADERS } from '../../protocol/headers.js';
import { normalizePointerQuery } from '../../protocol/pointer-query.js';
import type { PointerState } from './pending.js';

/** Response headers (exposed to browsers by cors.ts), named in the protocol both ends share. */
export { POINTER_HEADERS };

/** Search parameters that page or shape an answer without changing which records it covers. */
const PAGING = new Set(['_count']);

/**
 * The pointer query a search is, or undefined: `type` with its parameters (paging aside) must be
 * on the on-chain-safe grammar. Normalised as pointers are (sorted categories).
 */
export function pointerQueryOf(type: string, params: readonly [string, string][]): string | undefined {
  const rest = params.filter(([k]) => !PAGING.has(k));
  try {
    return normalizePointerQuery(rest.length ? `${type}?${new URLSearchParams(rest).toString()}` : type);
  } catch {
    return undefined;
  }
}

/** The one patient an answer concerns: the requesting patient, else the one patient all its records belong to. */
export function onePatientOf(requesterPatient: string | undefined, resources: readonly Resource[], patientOf: (r: Resource) => string | undefined): string | undefined {
  if (requesterPatient) return requesterPatient;
  const patients = new Set(resources.map(patientOf));
  return patients.size === 1 ? [...patients][0] : undefined;
}

export function freshnessHeaders(state: PointerState): Record<string, string> {
  if (state.state === 'current') return { [POINTER_HEADERS.state]: 'current' };
  return {
    [POINTER_HEADERS.state]: 'pending',
    [POINTER_HEADERS.pendingSince]: state.since.toISOString(),
    ...(state.hash ? { [POINTER_HEADERS.pendingHash]: state.hash } : {}),
  };
}
