/**
 * The latest value of a coded measurement among one patient's FHIR records, as a model input reader
 * needs it: the Observation (or Observation component, as the vital-signs blood-pressure panel
 * 85354-9 carries systolic 8480-6) with that code, its value, and which record it came from.
 * Pure and browser-safe: the EHR Manager runs it on what a gatekeeper returned.
 * https://hl7.org/fhir/R4/observation.html#component, https://hl7.org/fhir/R4/observation-vitalsigns.html
 */
import type { Coding, Observation, Resource } from '@medplum/fhirtypes';
import type { ObservationValue } from './heart-codes.js';

/** One reading of a code: its value element, the Observation it is in, and when it was taken. */
export interface Reading {
  value: ObservationValue;
  observation: Observation;
  /** The coding it matched (the Observation's or its component's). */
  coding: Coding;
  /** effectiveDateTime, effectivePeriod.start, effectiveInstant or issued, when there is one. */
  date?: string;
}

/** Observations that are no result (https://hl7.org/fhir/R4/valueset-observation-status.html), as uci-fhir.ts reads them. */
const NOT_A_RESULT = new Set(['entered-in-error', 'cancelled']);

const sameCode = (c: Coding | undefined, code: Coding) => c?.system === code.system && c?.code === code.code;

export function readingDate(o: Observation): string | undefined {
  return o.effectiveDateTime ?? o.effectivePeriod?.start ?? o.effectiveInstant ?? o.issued;
}

/** Every reading of `code` in `resources` (Observations and their components), in record order. */
export function readingsOf(resources: readonly Resource[], code: Coding): Reading[] {
  const out: Reading[] = [];
  for (const r of resources) {
    if (r.resourceType !== 'Observation' || NOT_A_RESULT.has(r.status)) continue;
    const date = readingDate(r);
    const own = r.code?.coding?.find((c) => sameCode(c, code));
    if (own) out.push({ value: r, observation: r, coding: own, date });
    for (const component of r.component ?? []) {
      const coding = component.code?.coding?.find((c) => sameCode(c, code));
      if (coding) out.push({ value: component, observation: r, coding, date });
    }
  }
  return out;
}

/**
 * The reading of `code` to use: the latest by date (undated ones count as oldest), the later in
 * record order on a tie; among those `accept` refuses are skipped only when a usable one exists,
 * so an unusable newest reading is still reported (the caller says why it could not use it).
 */
export function latestReading(resources: readonly Resource[], code: Coding, accept: (r: Reading) => boolean = () => true): { usable?: Reading; newest?: Reading } {
  const readings = readingsOf(resources, code);
  const time = (r: Reading) => {
    const t = r.date ? Date.parse(r.date) : NaN;
    return Number.isNaN(t) ? -Infinity : t;
  };
  let newest: Reading | undefined;
  let usable: Reading | undefined;
  for (const r of readings) {
    if (!newest || time(r) >= time(newest)) newest = r;
    if (accept(r) && (!usable || time(r) >= time(usable))) usable = r;
  }
  return { usable, newest };
}
