/**
 * The emergency data set: what a provider who broke the glass may read of a patient they have no
 * consent from — what a clinician needs to treat an unconscious stranger safely, and nothing more:
 *
 * - allergies and intolerances: every AllergyIntolerance;
 * - medications: every MedicationRequest (the store has no MedicationStatement);
 * - conditions: every Condition (problem list and diagnoses alike: an emergency needs both);
 * - blood type: Observations coded LOINC 882-1 (ABO and Rh group), 883-9 (ABO group) or 10331-7 (Rh
 *   type) — no other Observation, so lab results, vitals and social history stay closed;
 * - advance directives: DocumentReferences typed LOINC 42348-3 (Advance directives) or 75320-2
 *   (Advance directive), and Consents in the R4 consent categories acd (advance directive), dnr (do not
 *   resuscitate), polst (physician orders for life-sustaining treatment) or hcd (health care directive).
 *
 * Resources with a sensitive security label (SENSITIVE_LABELS: restricted, HIV, psychiatry, substance
 * use, …) stay hidden, as they do from every third party: break-glass widens *who* may read, not past
 * what the patient marked as sensitive. Everything else — DiagnosticReport, Encounter, Procedure,
 * Immunization, notes, images — is refused (403).
 *
 * Codes are matched as `system|code` tokens (src/records/extract.ts), so a same-code concept of
 * another system never matches.
 */
const LOINC = 'http://loinc.org';
const CONSENT_CATEGORY = 'http://terminology.hl7.org/CodeSystem/consentcategorycodes';

export interface EmergencyRule {
  resourceType: string;
  /** Resource must carry one of these codes (`system|code`); absent = any. */
  codes?: string[];
  /** Resource must carry one of these categories (`system|code`); absent = any. */
  categories?: string[];
}

export const EMERGENCY_DATA_SET: readonly EmergencyRule[] = [
  { resourceType: 'AllergyIntolerance' },
  { resourceType: 'MedicationRequest' },
  { resourceType: 'Condition' },
  { resourceType: 'Observation', codes: ['882-1', '883-9', '10331-7'].map((c) => `${LOINC}|${c}`) },
  { resourceType: 'DocumentReference', codes: ['42348-3', '75320-2'].map((c) => `${LOINC}|${c}`) },
  { resourceType: 'Consent', categories: ['acd', 'dnr', 'polst', 'hcd'].map((c) => `${CONSENT_CATEGORY}|${c}`) },
];
