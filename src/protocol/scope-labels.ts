/**
 * Plain-language names for the on-chain scopes and pointer queries ("Lab results" for
 * `Observation?category=laboratory`), shared by the EHR Manager and the CLI so both say the same.
 */
export const SCOPE_LABELS: Record<string, string> = {
  'Observation?category=laboratory': 'Lab results',
  'Observation?category=vital-signs': 'Vital signs',
  'Observation?category=social-history': 'Lifestyle (social history)',
  'Observation?category=imaging': 'Imaging results',
  'Observation?category=survey': 'Questionnaires',
  'Observation?category=exam': 'Examination findings',
  'Observation?category=procedure': 'Test results (ECG, exercise test)',
  Observation: 'All observations',
  'Condition?category=problem-list-item': 'Conditions (problem list)',
  'Condition?category=encounter-diagnosis': 'Diagnoses from visits',
  Condition: 'All conditions',
  'DiagnosticReport?category=LAB': 'Lab reports',
  DiagnosticReport: 'All reports',
  MedicationRequest: 'Medications',
  AllergyIntolerance: 'Allergies',
  Immunization: 'Immunizations',
  Encounter: 'Visits',
  DocumentReference: 'Documents',
  ImagingStudy: 'Imaging studies',
  Procedure: 'Procedures',
  Device: 'Devices and implants',
};

/** "Lab results" for `Observation?category=laboratory`; the query itself when there is no label. */
export const scopeLabel = (query: string): string => SCOPE_LABELS[query] ?? query;
