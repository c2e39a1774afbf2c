/**
 * The vendored Synthea sample (data/synthea-sample: FHIR R4 NDJSON, one file per type) as the
 * transaction Bundles a Synthea import sends, one per patient (https://hl7.org/fhir/R4/http.html#transaction):
 * - the patient's own resources are POSTed with `urn:uuid:` fullUrls, references between them
 *   rewritten to those urns (the server chooses the ids), and Synthea's conditional references
 *   (`Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|…`) left as Synthea writes them;
 * - the directory (Organization, Practitioner, Location) is in every Bundle as conditional creates
 *   (`ifNoneExist: identifier=…`), so each Bundle stands alone and the second one finds what the first
 *   created; PractitionerRole has no identifier and is PUT with its own id.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, BundleEntry, Identifier, Resource } from '@medplum/fhirtypes';
import { dataDir } from '../../src/ml/data-dir.js';

export const DIRECTORY = ['Organization', 'Practitioner', 'Location'] as const;

/** Every resource of the sample, by type. */
export function readSyntheaSample(dir = join(dataDir(), 'synthea-sample')): Map<string, Resource[]> {
  const byType = new Map<string, Resource[]>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ndjson')).sort()) {
    const lines = readFileSync(join(dir, file), 'utf8').split('\n').filter((l) => l.trim());
    byType.set(file.replace(/\.ndjson$/, ''), lines.map((l) => JSON.parse(l) as Resource));
  }
  return byType;
}

/** The local Patient a resource of the sample belongs to (its `subject` or `patient`), or undefined. */
export function patientOf(resource: Resource): string | undefined {
  if (resource.resourceType === 'Patient') return resource.id;
  const r = resource as { subject?: { reference?: string }; patient?: { reference?: string } };
  return /^Patient\/(.+)$/.exec(r.subject?.reference ?? r.patient?.reference ?? '')?.[1];
}

/** The identifier a conditional create or reference names: `system|value` of the first identifier. */
export const identifierToken = (resource: Resource): string => {
  const id = (resource as { identifier?: Identifier[] }).identifier?.[0];
  return `${id?.system}|${id?.value}`;
};

/** One patient's transaction Bundle (see the file comment). */
export function patientBundle(sample: Map<string, Resource[]>, patientId: string): Bundle {
  const own = [...sample.values()].flat().filter((r) => !(DIRECTORY as readonly string[]).includes(r.resourceType) && r.resourceType !== 'PractitionerRole' && patientOf(r) === patientId);
  const urns = new Map(own.map((r) => [`${r.resourceType}/${r.id}`, `urn:uuid:${r.id}`]));
  const entries: BundleEntry[] = [];
  for (const type of DIRECTORY) {
    for (const r of sample.get(type) ?? []) {
      entries.push({ fullUrl: `urn:uuid:${r.id}`, resource: withoutId(r), request: { method: 'POST', url: type, ifNoneExist: `identifier=${identifierToken(r)}` } });
    }
  }
  for (const r of sample.get('PractitionerRole') ?? []) entries.push({ resource: r, request: { method: 'PUT', url: `PractitionerRole/${r.id}` } });
  for (const r of own) entries.push({ fullUrl: urns.get(`${r.resourceType}/${r.id}`), resource: rewrite(withoutId(r), urns), request: { method: 'POST', url: r.resourceType } });
  return { resourceType: 'Bundle', type: 'transaction', entry: entries };
}

function withoutId<T extends Resource>(resource: T): T {
  const { id: _id, ...rest } = resource;
  return rest as T;
}

/** A copy with each `reference` found in `map` replaced. */
export function rewrite<T>(value: T, map: ReadonlyMap<string, string>): T {
  return JSON.parse(JSON.stringify(value), (key, v: unknown) => (key === 'reference' && typeof v === 'string' ? (map.get(v) ?? v) : v)) as T;
}
