/**
 * The write path's plausibility check (src/protocol/plausibility.ts): an Observation with an
 * impossible value for a known LOINC code (HbA1c −5 %, systolic below diastolic) is refused with an
 * OperationOutcome — 422 Unprocessable Entity, issue code `business-rule`
 * (https://hl7.org/fhir/R4/http.html#create, https://hl7.org/fhir/R4/valueset-issue-type.html) — and
 * nothing is stored. Unknown codes and other units pass.
 */
import { OperationOutcomeError } from '@medplum/core';
import { impossibleValues } from '../../protocol/plausibility.js';

export function refuseImpossible(resource: unknown): void {
  const found = impossibleValues(resource);
  if (found.length === 0) return;
  throw new OperationOutcomeError({
    resourceType: 'OperationOutcome',
    // medplum's getStatus answers 422 for this id.
    id: 'business-rule',
    issue: found.map((f) => ({ severity: 'error', code: 'business-rule', diagnostics: f.message, details: { text: f.message }, expression: [f.expression] })),
  });
}
