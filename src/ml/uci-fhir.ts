/**
 * The UCI Heart Disease rows (src/ml/data.ts) as FHIR R4 records, so the four hospitals can be four
 * providers with their own stores, and back: one table (HEART_FHIR) drives both directions, and the
 * round trip gives the loader's matrix exactly (a test checks it).
 *
 * Codes: HEART_FHIR in heart-codes.ts (standard LOINC/SNOMED CT where one means the same thing,
 * local `urn:medledger:uci-heart` codes for the exercise-test and scan attributes). A missing value
 * is no Observation at all; only num > 0 is kept (as the loader does).
 *
 * Each patient also gets an address (ADDRESS_SYSTEM identifier, as a linked patient has) and, when
 * they consented to research, an active FHIR Consent (scope research, purpose HRESCH): the site's
 * local record of research consent. Revoking sets it inactive.
 */
import type { Condition, Consent, Observation, Patient, Quantity, Resource } from '@medplum/fhirtypes';
import { getAddress, keccak256, slice, stringToHex, type Address } from 'viem';
import { ADDRESS_SYSTEM } from '../protocol/identifiers.js';
import { patientIdOfResource } from '../records/extract.js';
import { CORONARY_DISEASE, HEART_FEATURES, HEART_FHIR, heartAnswerSystem, heartObservationValue, isCoding, LOINC_SYSTEM as LOINC, UCI_HEART_SYSTEM, UCUM_SYSTEM as UCUM, type HeartHospital } from './heart-codes.js';
import type { Matrix } from './matrix.js';

export { CORONARY_DISEASE, HEART_FHIR, UCI_HEART_SYSTEM, type HeartAttribute } from './heart-codes.js';

const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';

/** A patient's local id: hospital and 1-based row, zero-padded so ids sort in file order. */
export const heartPatientId = (hospital: HeartHospital, row: number) => `${hospital}-${String(row + 1).padStart(4, '0')}`;

/**
 * The address standing in for a UCI patient's own (nobody holds its key: the 1988 patients have no
 * wallets). Derived, so every run gives each row the same address.
 */
export function heartPatientAddress(hospital: HeartHospital, row: number): Address {
  return getAddress(slice(keccak256(stringToHex(`medledger:uci-heart:${hospital}:${row + 1}`)), 12));
}

/**
 * One UCI row (raw values in HEART_FEATURES order, NaN = missing) → its Patient, one Observation per
 * present attribute, and the Condition when the label is 1. Ids are deterministic.
 */
export function heartRowToFhir(hospital: HeartHospital, row: number, values: ArrayLike<number>, label: number, address = heartPatientAddress(hospital, row)): Resource[] {
  if (values.length !== HEART_FEATURES.length) throw new Error(`heartRowToFhir: ${values.length} values, expected ${HEART_FEATURES.length}`);
  const id = heartPatientId(hospital, row);
  const subject = { reference: `Patient/${id}` };
  const patient: Patient = {
    resourceType: 'Patient',
    id,
    identifier: [
      { system: `${UCI_HEART_SYSTEM}:${hospital}`, value: String(row + 1) },
      { system: ADDRESS_SYSTEM, value: address.toLowerCase() },
    ],
  };
  const resources: Resource[] = [patient];
  HEART_FEATURES.forEach((feature, j) => {
    const v = values[j]!;
    if (Number.isNaN(v)) return;
    const a = HEART_FHIR[feature.name]!;
    if (a.kind === 'gender') {
      patient.gender = v === 1 ? 'male' : 'female';
      return;
    }
    const observation: Observation = {
      resourceType: 'Observation',
      id: `${id}-${feature.name}`,
      status: 'final',
      ...(a.category ? { category: [{ coding: [{ system: OBSERVATION_CATEGORY, code: a.category }] }] } : {}),
      code: { coding: [a.code, ...(a.kind === 'quantity' ? (a.alsoCoded ?? []) : [])] },
      subject,
    };
    const quantity = (value: number, unit: string, comparator?: Quantity['comparator']): Quantity => ({ value, ...(comparator ? { comparator } : {}), unit, system: UCUM, code: unit });
    if (a.kind === 'quantity') observation.valueQuantity = quantity(v, a.unit);
    else if (a.kind === 'above') observation.valueQuantity = quantity(a.threshold, a.unit, v === 1 ? '>' : '<=');
    else if (a.kind === 'boolean') observation.valueBoolean = v === 1;
    else {
      const display = a.levels[v];
      if (display === undefined) throw new Error(`heartRowToFhir: ${feature.name} = ${v} is not one of ${Object.keys(a.levels).join(', ')}`);
      observation.valueCodeableConcept = { coding: [{ system: heartAnswerSystem(feature.name), code: String(v), display }] };
    }
    resources.push(observation);
  });
  if (label) {
    const condition: Condition = {
      resourceType: 'Condition',
      id: `${id}-cad`,
      clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
      verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }] },
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'encounter-diagnosis' }] }],
      code: { coding: [CORONARY_DISEASE] },
      subject,
    };
    resources.push(condition);
  }
  return resources;
}

/**
 * A patient's research consent as the site records it (FHIR R4 Consent, scope research, opt-in,
 * purpose HRESCH "healthcare research"); `active: false` is the withdrawn consent.
 * https://hl7.org/fhir/R4/consent.html
 */
export function researchConsent(patientId: string, active: boolean): Consent {
  return {
    resourceType: 'Consent',
    id: `${patientId}-research`,
    status: active ? 'active' : 'inactive',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'research' }] },
    category: [{ coding: [{ system: LOINC, code: '57016-8', display: 'Privacy policy acknowledgment Document' }] }],
    patient: { reference: `Patient/${patientId}` },
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision: { type: 'permit', purpose: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'HRESCH' }] },
  };
}

/** True for an active research Consent that permits (what makes a patient part of a site's training set). */
export function isActiveResearchConsent(c: Consent): boolean {
  return (
    c.status === 'active' &&
    (c.scope?.coding ?? []).some((s) => s.code === 'research') &&
    c.provision?.type !== 'deny'
  );
}

/** FHIR → rows: patients (local ids, sorted), raw values in HEART_FEATURES order (NaN = missing), labels. */
export interface HeartRows {
  patients: string[];
  /** The patients' addresses (ADDRESS_SYSTEM identifier), row for row. */
  addresses: (Address | undefined)[];
  x: Matrix;
  y: Uint8Array;
}

const INACTIVE = new Set(['inactive', 'remission', 'resolved']);
const NOT_TRUE = new Set(['refuted', 'entered-in-error']);

/**
 * Reads rows back from FHIR: one per Patient resource, ids sorted. An attribute's Observation is
 * recognised by its HEART_FHIR code; when a patient has several, the latest effective time wins
 * (then the later one in `resources`). The label is 1 when the patient has an active, not refuted
 * Condition coded 53741008.
 */
export function heartRowsFromFhir(resources: readonly Resource[]): HeartRows {
  const patients = resources.filter((r): r is Patient => r.resourceType === 'Patient' && !!r.id).sort((a, b) => (a.id! < b.id! ? -1 : a.id! > b.id! ? 1 : 0));
  const rowOf = new Map(patients.map((p, i) => [p.id!, i]));
  const d = HEART_FEATURES.length;
  const data = new Float64Array(patients.length * d).fill(NaN);
  const y = new Uint8Array(patients.length);
  const latest = new Float64Array(patients.length * d).fill(-Infinity);
  const sexColumn = HEART_FEATURES.findIndex((f) => f.name === 'sex');
  patients.forEach((p, i) => {
    if (p.gender === 'male' || p.gender === 'female') data[i * d + sexColumn] = p.gender === 'male' ? 1 : 0;
  });
  for (const r of resources) {
    const i = rowOf.get(patientIdOfResource(r) ?? '');
    if (i === undefined) continue;
    if (r.resourceType === 'Condition') {
      if (!(r.code?.coding ?? []).some((c) => isCoding(c, CORONARY_DISEASE))) continue;
      if (INACTIVE.has(r.clinicalStatus?.coding?.[0]?.code ?? '') || NOT_TRUE.has(r.verificationStatus?.coding?.[0]?.code ?? '')) continue;
      y[i] = 1;
      continue;
    }
    if (r.resourceType !== 'Observation' || r.status === 'entered-in-error' || r.status === 'cancelled') continue;
    HEART_FEATURES.forEach((feature, j) => {
      const a = HEART_FHIR[feature.name]!;
      if (a.kind === 'gender' || !(r.code.coding ?? []).some((c) => isCoding(c, a.code))) return;
      const value = heartObservationValue(r, a, feature.name);
      if (value === undefined) return;
      const t = r.effectiveDateTime ? Date.parse(r.effectiveDateTime) : -Infinity;
      const time = Number.isNaN(t) ? -Infinity : t;
      if (time < latest[i * d + j]!) return;
      latest[i * d + j] = time;
      data[i * d + j] = value;
    });
  }
  const addresses = patients.map((p) => p.identifier?.find((id) => id.system === ADDRESS_SYSTEM)?.value as Address | undefined).map((a) => (a ? getAddress(a) : undefined));
  return { patients: patients.map((p) => p.id!), addresses, x: { data, rows: patients.length, cols: d }, y };
}
