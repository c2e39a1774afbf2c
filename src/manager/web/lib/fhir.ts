/**
 * Reading FHIR resources the way people read them: code names, values with units, reference ranges,
 * dates; and plain-language names for the on-chain scopes.
 */
import type { CodeableConcept, Observation, Quantity, Resource } from '@medplum/fhirtypes';

export { scopeLabel } from '../../../protocol/scope-labels.js';

export const codeText = (cc: CodeableConcept | undefined): string =>
  cc?.text ?? cc?.coding?.find((c) => c.display)?.display ?? cc?.coding?.[0]?.code ?? '—';

export const codeOf = (cc: CodeableConcept | undefined): string | undefined => cc?.coding?.[0]?.code;

export const quantityText = (q: Quantity | undefined): string =>
  q?.value === undefined ? '' : `${Number(q.value.toFixed(2))} ${q.unit ?? q.code ?? ''}`.trim();

export function rangeText(o: Observation): string {
  const r = o.referenceRange?.[0];
  if (!r) return '';
  if (r.text) return r.text;
  const lo = r.low?.value;
  const hi = r.high?.value;
  const unit = r.low?.unit ?? r.high?.unit ?? '';
  if (lo !== undefined && hi !== undefined) return `${lo}–${hi} ${unit}`.trim();
  if (hi !== undefined) return `≤ ${hi} ${unit}`.trim();
  if (lo !== undefined) return `≥ ${lo} ${unit}`.trim();
  return '';
}

/** H, L or N (or nothing) from Observation.interpretation. */
export const flagOf = (o: Observation): string | undefined => o.interpretation?.[0]?.coding?.[0]?.code;

/** The clinically relevant date of a resource (ISO), for ordering a timeline. */
export function dateOf(r: Resource): string {
  const x = r as unknown as Record<string, unknown>;
  const period = x.period as { start?: string } | undefined;
  const candidates = [x.effectiveDateTime, x.issued, x.onsetDateTime, x.recordedDate, x.authoredOn, x.occurrenceDateTime, period?.start, x.date, r.meta?.lastUpdated];
  return (candidates.find((c) => typeof c === 'string') as string | undefined) ?? '';
}

export const day = (iso: string): string => (iso ? iso.slice(0, 10) : '—');

/** One line saying what a resource is. */
export function summaryOf(r: Resource): string {
  switch (r.resourceType) {
    case 'Observation': {
      const parts = r.component?.map((c) => quantityText(c.valueQuantity)).filter(Boolean);
      return `${codeText(r.code)}: ${parts?.length ? parts.join(' / ') : quantityText(r.valueQuantity) || codeText(r.valueCodeableConcept)}`;
    }
    case 'Condition':
      return `${codeText(r.code)} (${codeOf(r.clinicalStatus) ?? 'unknown'})`;
    case 'MedicationRequest':
      return `${codeText(r.medicationCodeableConcept)}${r.dosageInstruction?.[0]?.text ? ` — ${r.dosageInstruction[0].text}` : ''}`;
    case 'AllergyIntolerance':
      return `Allergy: ${codeText(r.code)}${r.criticality ? ` (${r.criticality} criticality)` : ''}`;
    case 'Immunization':
      return `Vaccine: ${codeText(r.vaccineCode)}`;
    case 'Encounter':
      return `Visit: ${codeText(r.type?.[0])}`;
    case 'DiagnosticReport':
      return `Report: ${codeText(r.code)} (${r.result?.length ?? 0} results)`;
    case 'DocumentReference':
      return `Document: ${r.description ?? codeText(r.type)}`;
    case 'Patient':
      return `Patient: ${r.name?.[0]?.given?.join(' ') ?? ''} ${r.name?.[0]?.family ?? ''}`.trim();
    default:
      return r.resourceType;
  }
}

/** Resources out of a searchset or history Bundle. */
export function resourcesOf(bundle: unknown): Resource[] {
  const entries = (bundle as { entry?: { resource?: Resource }[] })?.entry ?? [];
  return entries.map((e) => e.resource).filter((r): r is Resource => !!r);
}

export const isLab = (r: Resource): r is Observation =>
  r.resourceType === 'Observation' && !!r.category?.some((c) => c.coding?.some((x) => x.code === 'laboratory'));
export const isVital = (r: Resource): r is Observation =>
  r.resourceType === 'Observation' && !!r.category?.some((c) => c.coding?.some((x) => x.code === 'vital-signs'));
