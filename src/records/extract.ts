/**
 * Search columns of a resource (pure). One extractor per supported type says where its patient,
 * codes, categories, status and clinically relevant date live; search.ts accepts a parameter for a
 * type only where that type has the column, so `code`, `category`, `status` and `date` mean the same
 * column for every type (R4 names some of them differently per type: Condition's `status` is its
 * clinical-status, its `date` the onset; https://hl7.org/fhir/R4/searchparameter-registry.html).
 *
 * Tokens are stored in both forms, `system|code` and bare `code` (`|code` when the coding has no
 * system), so each FHIR token search form is one array-contains test
 * (https://hl7.org/fhir/R4/search.html#token).
 */
import { OperationOutcomeError, badRequest } from '@medplum/core';
import type { CodeableConcept, ExtractResource, Identifier, Period, Reference, Resource } from '@medplum/fhirtypes';
import { dateRange, periodRange, toTimestamp, type DateRange } from './date.js';
import { compartmentParams, isSupportedType, loadDefinitions, type SupportedType } from './fhir.js';
import { getDataType } from '@medplum/core';

export interface SearchColumns {
  patientId: string | null;
  codes: string[];
  categories: string[];
  security: string[];
  identifiers: string[];
  status: string | null;
  /** timestamptz text, or ±infinity for an open period. */
  dateStart: string | null;
  dateEnd: string | null;
}

type Concepts = CodeableConcept | (CodeableConcept | undefined)[] | undefined;

interface Extractor<R> {
  /** References that may name the patient, in order of preference. */
  patient?: (r: R) => (Reference | undefined)[];
  /** True when the patient reference is the `subject` element (so the `subject` parameter applies). */
  subject?: true;
  codes?: (r: R) => Concepts;
  categories?: (r: R) => Concepts;
  status?: (r: R) => string | undefined;
  /** Throws on a value that is not a real date; undefined when the resource has none. */
  date?: (r: R) => DateRange | undefined;
}

/** The types with their own extractor (the ones on-chain grants and the product read); the rest use genericExtractor. */
type KnownType = 'Patient' | 'Observation' | 'Condition' | 'DiagnosticReport' | 'MedicationRequest' | 'AllergyIntolerance' | 'Immunization'
  | 'Encounter' | 'DocumentReference' | 'ImagingStudy' | 'Procedure' | 'CarePlan' | 'Consent' | 'AuditEvent' | 'Provenance' | 'Device';

type Extractors = { [K in KnownType]: Extractor<ExtractResource<K>> };

const CLINICAL_STATUS = (r: { clinicalStatus?: CodeableConcept }) => r.clinicalStatus?.coding?.find((c) => c.code)?.code;
const ALLERGY_CATEGORY = 'http://hl7.org/fhir/allergy-intolerance-category';

/** https://hl7.org/fhir/R4/compartmentdefinition-patient.html names the same patient links. */
export const EXTRACTORS: Extractors = {
  Patient: {},
  Observation: {
    patient: (r) => [r.subject],
    subject: true,
    codes: (r) => r.code,
    categories: (r) => r.category,
    status: (r) => r.status,
    date: (r) => instantOrPeriod(r.effectiveDateTime ?? r.effectiveInstant, r.effectivePeriod),
  },
  Condition: {
    patient: (r) => [r.subject],
    subject: true,
    codes: (r) => r.code,
    categories: (r) => r.category,
    status: CLINICAL_STATUS,
    // The onset when it is a date, else when it was recorded.
    date: (r) => instantOrPeriod(r.onsetDateTime, r.onsetPeriod) ?? instantOrPeriod(r.recordedDate),
  },
  DiagnosticReport: {
    patient: (r) => [r.subject],
    subject: true,
    codes: (r) => r.code,
    categories: (r) => r.category,
    status: (r) => r.status,
    date: (r) => instantOrPeriod(r.effectiveDateTime, r.effectivePeriod),
  },
  MedicationRequest: {
    patient: (r) => [r.subject],
    subject: true,
    codes: (r) => r.medicationCodeableConcept,
    categories: (r) => r.category,
    status: (r) => r.status,
    date: (r) => instantOrPeriod(r.authoredOn),
  },
  AllergyIntolerance: {
    patient: (r) => [r.patient],
    codes: (r) => r.code,
    // Plain codes from a fixed code system (https://hl7.org/fhir/R4/valueset-allergy-intolerance-category.html).
    categories: (r) => ({ coding: r.category?.map((code) => ({ system: ALLERGY_CATEGORY, code })) }),
    status: CLINICAL_STATUS,
    date: (r) => instantOrPeriod(r.recordedDate),
  },
  Immunization: {
    patient: (r) => [r.patient],
    codes: (r) => r.vaccineCode,
    status: (r) => r.status,
    date: (r) => instantOrPeriod(r.occurrenceDateTime),
  },
  Encounter: {
    patient: (r) => [r.subject],
    subject: true,
    codes: (r) => r.type,
    status: (r) => r.status,
    date: (r) => instantOrPeriod(undefined, r.period),
  },
  DocumentReference: {
    patient: (r) => [r.subject],
    subject: true,
    codes: (r) => r.type,
    categories: (r) => r.category,
    status: (r) => r.status,
    date: (r) => instantOrPeriod(r.date),
  },
  ImagingStudy: {
    patient: (r) => [r.subject],
    subject: true,
    codes: (r) => r.procedureCode,
    status: (r) => r.status,
    date: (r) => instantOrPeriod(r.started),
  },
  Procedure: {
    patient: (r) => [r.subject],
    subject: true,
    codes: (r) => r.code,
    categories: (r) => r.category,
    status: (r) => r.status,
    date: (r) => instantOrPeriod(r.performedDateTime, r.performedPeriod),
  },
  CarePlan: {
    patient: (r) => [r.subject],
    subject: true,
    categories: (r) => r.category,
    status: (r) => r.status,
    date: (r) => instantOrPeriod(undefined, r.period),
  },
  Consent: {
    patient: (r) => [r.patient],
    categories: (r) => r.category,
    status: (r) => r.status,
    date: (r) => instantOrPeriod(r.dateTime),
  },
  AuditEvent: {
    // The patient whose data was touched, else a patient who acted (e.g. read their own record).
    patient: (r) => [...(r.entity ?? []).map((e) => e.what), ...(r.agent ?? []).map((a) => a.who)],
    codes: (r) => ({ coding: [...(r.type ? [r.type] : []), ...(r.subtype ?? [])] }),
    date: (r) => instantOrPeriod(r.recorded),
  },
  Provenance: {
    patient: (r) => r.target,
    date: (r) => instantOrPeriod(r.recorded),
  },
  // Not in R4's Patient compartment, but an implanted device says something about its patient.
  Device: {
    patient: (r) => [r.patient],
    codes: (r) => r.type,
    status: (r) => r.status,
  },
};

/** The search column a parameter reads, per type (see search.ts). */
export type Column = 'patient' | 'subject' | 'codes' | 'categories' | 'status' | 'date' | 'identifiers';

/**
 * Every other R4 type: its patient is what its Patient-compartment parameters name, read from the
 * element of the same name (Device.patient, Account.subject, …;
 * https://hl7.org/fhir/R4/compartmentdefinition-patient.html); its codes are `code`, its status
 * `status` when that is a plain code. It has no categories and no date column.
 */
const generic = new Map<string, Extractor<Resource>>();

function genericExtractor(type: string): Extractor<Resource> {
  let extractor = generic.get(type);
  if (extractor) return extractor;
  const params = compartmentParams(type);
  const field = (r: Resource, name: string): unknown => (r as unknown as Record<string, unknown>)[name];
  extractor = {
    ...(params.length ? { patient: (r: Resource) => params.flatMap((p) => [field(r, p)].flat() as (Reference | undefined)[]) } : {}),
    ...(params.includes('subject') ? { subject: true as const } : {}),
    codes: (r) => field(r, 'code') as Concepts,
    status: (r) => (typeof field(r, 'status') === 'string' ? (field(r, 'status') as string) : undefined),
  };
  generic.set(type, extractor);
  return extractor;
}

function extractorOf(type: SupportedType): Extractor<Resource> {
  return (Object.hasOwn(EXTRACTORS, type) ? EXTRACTORS[type as KnownType] : genericExtractor(type)) as Extractor<Resource>;
}

/** Whether `type` has an element `name` in the R4 base definition. */
function hasElement(type: string, name: string): boolean {
  loadDefinitions();
  return Object.hasOwn(getDataType(type).elements, name);
}

/** Whether `type` has `column` (so the matching search parameter is valid for it). */
export function hasColumn(type: SupportedType, column: Column): boolean {
  if (column === 'identifiers') return hasElement(type, 'identifier');
  const extractor = extractorOf(type);
  if (column === 'subject') return extractor.subject === true;
  if (!Object.hasOwn(EXTRACTORS, type) && (column === 'codes' || column === 'status')) return hasElement(type, column === 'codes' ? 'code' : 'status');
  return extractor[column] !== undefined;
}

/** The search columns of a valid resource of a supported type. Throws 400 on an impossible date. */
export function extractColumns(resource: Resource): SearchColumns {
  const extractor = extractorOf(resource.resourceType);
  const range = extractor.date?.(resource);
  const identifier = (resource as { identifier?: Identifier | Identifier[] }).identifier;
  return {
    patientId:
      resource.resourceType === 'Patient'
        ? (resource.id ?? null)
        : (extractor.patient?.(resource).map(patientIdOf).find((id) => id !== undefined) ?? null),
    codes: tokens(extractor.codes?.(resource)),
    categories: tokens(extractor.categories?.(resource)),
    security: tokens({ coding: resource.meta?.security }),
    identifiers: identifierTokens(identifier === undefined ? undefined : [identifier].flat()),
    status: extractor.status?.(resource) ?? null,
    dateStart: range ? toTimestamp(range.start) : null,
    dateEnd: range ? toTimestamp(range.end) : null,
  };
}

/** The local Patient id a resource belongs to (its own id for a Patient); undefined for none or an unsupported type. */
export function patientIdOfResource(resource: Resource): string | undefined {
  return isSupportedType(resource.resourceType) ? (extractColumns(resource).patientId ?? undefined) : undefined;
}

/** The bare category codes of a resource (what on-chain queries name), e.g. `laboratory`. */
export function categoriesOf(resource: Resource): string[] {
  if (!isSupportedType(resource.resourceType)) return [];
  return tokens(extractorOf(resource.resourceType).categories?.(resource)).filter((t) => !t.includes('|'));
}

const PATIENT_REFERENCE = /^Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/** `Patient/x` (optionally versioned) → x; other targets, absolute URLs and urn:uuid → undefined. */
export function patientIdOf(reference: Reference | undefined): string | undefined {
  return PATIENT_REFERENCE.exec(reference?.reference ?? '')?.[1];
}

/** Both token forms of every coding, de-duplicated. */
export function tokens(concepts: Concepts): string[] {
  const codings = (Array.isArray(concepts) ? concepts : [concepts]).flatMap((c) => c?.coding ?? []);
  return unique(codings.flatMap((c) => pair(c.system, c.code)));
}

/** `system|value` and `value` of each identifier. */
export function identifierTokens(identifiers: Identifier[] | undefined): string[] {
  return unique((identifiers ?? []).flatMap((i) => pair(i.system, i.value)));
}

const pair = (system: string | undefined, code: string | undefined): string[] =>
  code ? [`${system ?? ''}|${code}`, code] : [];

const unique = (values: string[]): string[] => [...new Set(values)];

function instantOrPeriod(value: string | undefined, period?: Period): DateRange | undefined {
  if (value !== undefined) return dateRange(value) ?? invalidDate(value);
  if (period === undefined) return undefined;
  return periodRange(period) ?? invalidDate(`${period.start ?? ''}..${period.end ?? ''}`);
}

function invalidDate(value: string): never {
  throw new OperationOutcomeError(badRequest(`Invalid date ${JSON.stringify(value)}`));
}
