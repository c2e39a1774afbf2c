/**
 * De-identification of FHIR resources before they leave a provider for model training.
 *
 * What it does, and why:
 * - Direct identifiers go (HIPAA Safe Harbor, 45 CFR 164.514(b)(2)): every `identifier`, and on
 *   Patient the name, telecom, photo, contacts, links and general practitioner; an address keeps
 *   only state and country. Extensions known to identify (mother's maiden name, birth place, birth
 *   time) go too. A reference's `display` (usually a person's name) goes; coded displays
 *   (Coding.display) stay, they name a concept, not a person.
 * - Resource ids and references become keyed pseudonyms (HMAC-SHA256 with the secret salt), so one
 *   patient's resources still link to each other but not back to the provider's ids.
 * - Every date, dateTime and instant (found by type, from the FHIR R4 definitions, so choice
 *   elements like effectiveDateTime and dates inside extensions are included) moves by one offset
 *   per patient: a keyed hash of the salt and the patient id, in ±maxShiftDays and never 0.
 *   Intervals within a patient's record (age at an event, time between visits) are kept. Partial
 *   dates keep their precision (a year stays a year; its midpoint is shifted).
 * - Ages are capped at 90: a patient 90 or older at `asOf` loses the birth date and gets an
 *   age-band extension "90+"; an age Observation above 89 reads ">= 90".
 * - Free text goes unless `allowFreeText`: narratives, notes, comments, descriptions, conclusions,
 *   instructions, CodeableConcept.text, string/markdown values and attached documents. Free text
 *   is where names, places and dates hide.
 * Without the salt the shift and the pseudonyms cannot be recomputed; keep it secret and per
 * export (or per study) so two exports cannot be joined.
 */
import { createHmac } from 'node:crypto';
import { crawlTypedValue, toTypedValue } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { patientIdOfResource } from '../records/extract.js';
import { loadDefinitions } from '../records/fhir.js';

export interface DeidentifyOptions {
  /** Secret key for the date offsets and pseudonyms. */
  salt: string | Uint8Array;
  /** Offsets are drawn from ±maxShiftDays (never 0). Default 180. */
  maxShiftDays?: number;
  /** Keep narratives, notes and other free text. Default false. */
  allowFreeText?: boolean;
  /** When ages are measured for the 90+ rule. Default now. */
  asOf?: Date;
  /** Whose record this is, for resources that do not say (no subject/patient reference). */
  patientId?: string;
}

export const AGE_BAND_EXTENSION = 'urn:medledger:deidentified:age-band';

const FREE_TEXT_KEYS = new Set(['text', 'note', 'comment', 'description', 'conclusion', 'patientInstruction', 'valueString', 'valueMarkdown', 'presentedForm', 'summary']);
const PATIENT_IDENTIFYING = ['name', 'telecom', 'photo', 'contact', 'link', 'generalPractitioner'];
const IDENTIFYING_EXTENSIONS = new Set([
  'http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName',
  'http://hl7.org/fhir/StructureDefinition/patient-birthPlace',
  'http://hl7.org/fhir/StructureDefinition/patient-birthTime',
]);
/** LOINC age codes whose values the 90+ cap applies to. */
const AGE_CODES = new Set(['30525-0', '21612-7', '29553-5']);

function hmacHex(salt: string | Uint8Array, message: string): string {
  return createHmac('sha256', salt).update(message).digest('hex');
}

/** The patient's date offset in days: keyed hash → [−max, −1] ∪ [1, max]. */
export function dateShiftDays(salt: string | Uint8Array, patientId: string, maxShiftDays = 180): number {
  if (!Number.isInteger(maxShiftDays) || maxShiftDays < 1) throw new Error('maxShiftDays must be a positive integer');
  const h = Number.parseInt(hmacHex(salt, `date-shift:${patientId}`).slice(0, 12), 16);
  const magnitude = (h % maxShiftDays) + 1;
  return Math.floor(h / maxShiftDays) % 2 === 0 ? magnitude : -magnitude;
}

/** A keyed pseudonym for a resource id (a valid FHIR id: 32 hex digits). */
export function pseudonymId(salt: string | Uint8Array, resourceType: string, id: string): string {
  return hmacHex(salt, `id:${resourceType}/${id}`).slice(0, 32);
}

const DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(T.*)?)?)?$/;

/** Moves a FHIR date/dateTime/instant by whole days, keeping its precision, time of day and zone. */
export function shiftDate(value: string, days: number): string {
  const m = DATE.exec(value);
  if (!m) return value;
  const [, y, mo, d, time] = m;
  // A partial date shifts its midpoint (1 July, the 15th), so a shift moves it to a neighbouring period only when large.
  const date = new Date(0);
  date.setUTCFullYear(Number(y), mo === undefined ? 6 : Number(mo) - 1, d === undefined ? (mo === undefined ? 1 : 15) : Number(d));
  date.setUTCDate(date.getUTCDate() + days);
  const year = String(date.getUTCFullYear()).padStart(4, '0');
  const month = String(date.getUTCMonth() + 1).padStart(2, '0');
  const day = String(date.getUTCDate()).padStart(2, '0');
  if (mo === undefined) return year;
  if (d === undefined) return `${year}-${month}`;
  return `${year}-${month}-${day}${time ?? ''}`;
}

/** Whole years between a FHIR date and `asOf` (a partial date counts from its first day). */
export function ageInYears(birthDate: string, asOf: Date): number | undefined {
  const m = DATE.exec(birthDate);
  if (!m) return undefined;
  const [, y, mo, d] = m;
  const month = mo === undefined ? 1 : Number(mo);
  const day = d === undefined ? 1 : Number(d);
  let age = asOf.getUTCFullYear() - Number(y);
  if (asOf.getUTCMonth() + 1 < month || (asOf.getUTCMonth() + 1 === month && asOf.getUTCDate() < day)) age--;
  return age;
}

/** A de-identified copy of `resource` (the input is not changed). */
export function deidentifyResource<T extends Resource>(resource: T, options: DeidentifyOptions): T {
  // Whose record: the store's own rule (the Patient's id, or its patient/subject reference).
  const patientId = patientIdOfResource(resource) ?? options.patientId;
  if (!patientId) throw new Error(`deidentify: cannot tell whose ${resource.resourceType} this is (no subject or patient reference); pass patientId`);
  const copy = structuredClone(resource) as unknown as Record<string, unknown>;
  const allowFreeText = options.allowFreeText === true;
  const salt = options.salt;

  if (resource.resourceType === 'Patient') {
    for (const key of PATIENT_IDENTIFYING) delete copy[key];
    if (Array.isArray(copy.address)) {
      const kept = (copy.address as Record<string, unknown>[])
        .map((a) => Object.fromEntries(Object.entries(a).filter(([k]) => k === 'state' || k === 'country')))
        .filter((a) => Object.keys(a).length > 0);
      if (kept.length > 0) copy.address = kept;
      else delete copy.address;
    }
  }
  if (copy.meta && typeof copy.meta === 'object') {
    // versionId/lastUpdated/source describe the provider's store; labels and profiles stay.
    const meta = Object.fromEntries(Object.entries(copy.meta).filter(([k]) => k === 'security' || k === 'tag' || k === 'profile'));
    if (Object.keys(meta).length > 0) copy.meta = meta;
    else delete copy.meta;
  }
  if (typeof copy.id === 'string') copy.id = pseudonymId(salt, resource.resourceType, copy.id);
  strip(copy, { allowFreeText, salt }, true);

  shiftDates(copy as unknown as Resource, dateShiftDays(salt, patientId, options.maxShiftDays));
  capAge(copy, resource, options.asOf ?? new Date());
  return copy as unknown as T;
}

/** De-identifies each resource (see deidentifyResource). */
export function deidentifyResources(resources: readonly Resource[], options: DeidentifyOptions): Resource[] {
  return resources.map((r) => deidentifyResource(r, options));
}

/** Removes identifiers, reference displays and (unless allowed) free text; pseudonymises references. Returns true when `node` ends up empty. */
function strip(node: unknown, ctx: { allowFreeText: boolean; salt: string | Uint8Array }, root = false): boolean {
  if (Array.isArray(node)) {
    for (let i = node.length - 1; i >= 0; i--) if (strip(node[i], ctx)) node.splice(i, 1);
    return node.length === 0;
  }
  if (node === null || typeof node !== 'object') return false;
  const obj = node as Record<string, unknown>;
  if (typeof obj.url === 'string' && IDENTIFYING_EXTENSIONS.has(obj.url)) return true;
  delete obj.identifier;
  delete obj.authorString; // an Annotation's author by name, kept notes or not
  if (!ctx.allowFreeText) for (const key of FREE_TEXT_KEYS) delete obj[key];
  // Attached documents (DocumentReference.content) are free text in another form.
  if (!ctx.allowFreeText && root && obj.resourceType === 'DocumentReference') delete obj.content;
  if ('reference' in obj || ('display' in obj && !('code' in obj) && !('system' in obj))) {
    // A Reference (a Coding always has a code or system): its display is usually a person's name.
    delete obj.display;
    if (typeof obj.reference === 'string') {
      const pseudonym = pseudonymReference(obj.reference, ctx.salt);
      if (pseudonym) obj.reference = pseudonym;
      else delete obj.reference;
    }
  }
  for (const [key, value] of Object.entries(obj)) {
    if (key === 'resourceType') continue;
    if (strip(value, ctx)) delete obj[key];
  }
  return !root && Object.keys(obj).length === 0;
}

const REFERENCE = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

function pseudonymReference(reference: string, salt: string | Uint8Array): string | undefined {
  if (reference.startsWith('#')) return reference; // contained resource: local, not an identifier
  const m = REFERENCE.exec(reference);
  return m ? `${m[1]}/${pseudonymId(salt, m[1]!, m[2]!)}` : undefined;
}

const DATE_TYPES = new Set(['date', 'dateTime', 'instant']);

/** Shifts every date-typed element, found through the R4 type definitions. */
function shiftDates(resource: Resource, days: number): void {
  loadDefinitions();
  const done = new WeakMap<object, Set<string>>();
  crawlTypedValue(toTypedValue(resource), {
    visitProperty: (parent, key, _path, values) => {
      const first = values.flat().find((v) => DATE_TYPES.has(v.type));
      if (!first) return;
      const holder = parent.value as Record<string, unknown>;
      const name = key.endsWith('[x]') ? key.slice(0, -3) + first.type[0]!.toUpperCase() + first.type.slice(1) : key;
      const keys = done.get(holder) ?? new Set<string>();
      if (keys.has(name)) return;
      keys.add(name);
      done.set(holder, keys);
      const value = holder[name];
      if (typeof value === 'string') holder[name] = shiftDate(value, days);
      else if (Array.isArray(value)) holder[name] = value.map((v) => (typeof v === 'string' ? shiftDate(v, days) : v));
    },
  });
}

/** The 90+ rule: on the Patient (birth date from the original), and on age Observations. */
function capAge(copy: Record<string, unknown>, original: Resource, asOf: Date): void {
  if (original.resourceType === 'Patient' && original.birthDate) {
    const age = ageInYears(original.birthDate, asOf);
    if (age !== undefined && age >= 90) {
      delete copy.birthDate;
      delete copy._birthDate;
      const extension = Array.isArray(copy.extension) ? (copy.extension as unknown[]) : [];
      extension.push({ url: AGE_BAND_EXTENSION, valueString: '90+' });
      copy.extension = extension;
    }
  }
  if (original.resourceType === 'Observation' && original.code?.coding?.some((c) => c.system === 'http://loinc.org' && AGE_CODES.has(c.code ?? ''))) {
    const quantity = copy.valueQuantity as { value?: number; comparator?: string } | undefined;
    if (quantity && typeof quantity.value === 'number' && quantity.value > 89) {
      quantity.value = 90;
      quantity.comparator = '>=';
    }
  }
}
