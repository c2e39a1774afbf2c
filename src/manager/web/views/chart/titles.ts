/** A record named the way a person would list it: "Blood sugar (HbA1c), 2025-03-01", "Allergy: Peanut, 2019-06-12". */
import type { Resource } from '@medplum/fhirtypes';
import { codeText, dateOf, day } from '../../lib/fhir.js';
import { displayName } from '../../lib/lab-names.js';

const KIND: Record<string, string> = {
  Condition: 'Health problem',
  MedicationRequest: 'Medicine',
  MedicationStatement: 'Medicine',
  AllergyIntolerance: 'Allergy',
  Immunization: 'Vaccine',
  Encounter: 'Visit',
  DiagnosticReport: 'Report',
  DocumentReference: 'Document',
  Patient: 'Your details',
};

function nameOf(r: Resource): string {
  switch (r.resourceType) {
    case 'Observation':
      return displayName(r.code);
    case 'Condition':
    case 'AllergyIntolerance':
    case 'DiagnosticReport':
      return codeText(r.code);
    case 'MedicationRequest':
    case 'MedicationStatement':
      return codeText(r.medicationCodeableConcept);
    case 'Immunization':
      return codeText(r.vaccineCode);
    case 'Encounter':
      return codeText(r.type?.[0]);
    case 'DocumentReference':
      return r.description ?? codeText(r.type);
    default:
      return '';
  }
}

export function recordTitle(r: Resource): string {
  const name = nameOf(r);
  const kind = KIND[r.resourceType];
  const what = r.resourceType === 'Observation' ? name : [kind ?? r.resourceType, name].filter(Boolean).join(': ');
  const when = dateOf(r);
  return when ? `${what}, ${day(when)}` : what;
}
