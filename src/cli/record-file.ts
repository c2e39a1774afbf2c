/**
 * The records `medledger provider add-record --data <file>` stores: read from a FHIR Bundle, one
 * resource or an array of resources, checked before anything is sent — each falls under the pointer
 * query named on the command line, is the patient's kind of record, and is valid R4 once its patient
 * reference is set. Every refusal is one line naming the file and the record.
 */
import { readFileSync } from 'node:fs';
import { OperationOutcomeError } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { parsePointerQuery } from '../protocol/pointer-query.js';
import { categoriesOf } from '../records/extract.js';
import { compartmentParams, validate } from '../records/fhir.js';

/** A record from the file, with the Bundle entry's `urn:uuid:` fullUrl when it had one (other entries may reference it). */
export interface FileRecord {
  resource: Resource;
  fullUrl?: string;
}

type Entry = { resource?: unknown; fullUrl?: unknown };

/** The records in `file`; throws a one-line error when it is not JSON or not FHIR resources. */
export function readRecordFile(file: string): FileRecord[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read ${file} as JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  const bundle = json as { resourceType?: unknown; entry?: Entry[] };
  const entries: Entry[] = Array.isArray(json) ? json.map((resource: unknown) => ({ resource })) : bundle?.resourceType === 'Bundle' ? (bundle.entry ?? []) : [{ resource: json }];
  if (entries.length === 0) throw new Error(`${file} holds no resources`);
  return entries.map((e, i) => {
    const resource = e?.resource as Resource | undefined;
    if (!resource || typeof resource !== 'object' || typeof resource.resourceType !== 'string') throw new Error(`${file}: record ${i + 1} is not FHIR (every resource needs a resourceType)`);
    const fullUrl = typeof e.fullUrl === 'string' && e.fullUrl.startsWith('urn:uuid:') ? e.fullUrl : undefined;
    return { resource, ...(fullUrl ? { fullUrl } : {}) };
  });
}

/**
 * Refuses a record the pointer `query` would not return (another type, or none of its categories):
 * stored anyway, it would sit under a different pointer than the one the provider named.
 */
export function assertWithinQuery(records: readonly FileRecord[], query: string, file: string): void {
  const q = parsePointerQuery(query);
  records.forEach(({ resource }, i) => {
    const where = `${file}: record ${i + 1} (${resource.resourceType})`;
    if (resource.resourceType === 'Patient') throw new Error(`${where}: leave the Patient out — the patient is --patient`);
    if (resource.resourceType !== q.resourceType) throw new Error(`${where} is not within ${query}: add it with its own --query`);
    const categories = categoriesOf(resource);
    if (q.categories.length && !categories.some((c) => q.categories.includes(c))) {
      throw new Error(`${where} is not within ${query}: its category is ${categories.join(', ') || 'missing'}`);
    }
  });
}

/** The element naming a resource's patient (`subject`, or `patient` for e.g. AllergyIntolerance). */
function patientElement(type: string): 'subject' | 'patient' | undefined {
  const params = compartmentParams(type);
  return params.includes('subject') ? 'subject' : params.includes('patient') ? 'patient' : undefined;
}

/**
 * The records as the patient's (`Patient/<patientId>` in the store they go to), validated against
 * R4. A record that already names a different patient is refused, never moved to this one.
 */
export function asPatientRecords(records: readonly FileRecord[], patientId: string, file: string): FileRecord[] {
  const reference = `Patient/${patientId}`;
  return records.map(({ resource, fullUrl }, i) => {
    const where = `${file}: record ${i + 1} (${resource.resourceType})`;
    const element = patientElement(resource.resourceType);
    if (!element) throw new Error(`${where} cannot belong to a patient`);
    const named = (resource as unknown as Record<string, { reference?: string } | undefined>)[element]?.reference;
    if (named !== undefined && named !== reference) throw new Error(`${where} names ${element} ${named}: leave it out, the command sets the patient`);
    // The store gives every record a new id; a file's ids would only collide.
    const { id: _id, ...rest } = resource;
    const record = { ...rest, [element]: { reference } } as Resource;
    try {
      validate(record);
    } catch (err) {
      if (!(err instanceof OperationOutcomeError)) throw err;
      const issue = err.outcome.issue?.[0];
      const text = issue?.details?.text ?? issue?.diagnostics ?? 'invalid';
      throw new Error(`${where} is not valid FHIR R4: ${text}${issue?.expression?.length ? ` (${issue.expression.join(', ')})` : ''}`);
    }
    return { resource: record, ...(fullUrl ? { fullUrl } : {}) };
  });
}
