/**
 * Fills a provider's records store with generated demo resources, patient by patient.
 *
 * Each patient's resources go in with the ids they were generated with (createMany keeps client ids,
 * validates, and writes all or nothing). A batch holds whole patients only, so a seed that stops
 * halfway leaves every patient either complete or absent; a second run then recognises the stored
 * ones by their Patient's identifier and skips them, which is what makes seeding idempotent.
 */
import type { Patient, Resource } from '@medplum/fhirtypes';
import { patientIdOfResource } from '../records/extract.js';
import type { RecordStore } from '../records/store.js';

/** Resources per createMany: large enough to amortise the transaction, small enough to report progress. */
const BATCH_RESOURCES = 1000;

export interface SeedOptions {
  /**
   * Validate each resource (default true). The store's validation is most of the seeding time; the
   * generator's output is validated by its tests, so a caller may trust it and skip this.
   */
  validate?: boolean;
}

export interface SeedResult {
  /** Resources written by this call. */
  stored: number;
  /** Resources of patients already in the store, left alone. */
  skipped: number;
}

/**
 * Stores `resources` (Patients and the resources in their compartments) unless the Patient is
 * already there: a Patient with the same first identifier (system and value) is the same patient.
 * Throws, before writing anything, for a Patient without an identifier or a resource whose patient
 * is not among `resources`. `onProgress` hears (resources done, total) after each batch.
 */
export async function seedStore(
  store: RecordStore,
  resources: readonly Resource[],
  onProgress?: (done: number, total: number) => void,
  options: SeedOptions = {},
): Promise<SeedResult> {
  const groups = groupByPatient(resources);
  const total = resources.length;
  let done = 0;
  let stored = 0;
  let skipped = 0;
  let reported = -1;
  let batch: Resource[] = [];
  const report = (): void => {
    if (reported === done) return;
    reported = done;
    onProgress?.(done, total);
  };
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    await store.createMany(batch, { validate: options.validate ?? true });
    stored += batch.length;
    done += batch.length;
    batch = [];
    report();
  };
  for (const { patient, members } of groups) {
    const { system, value } = patient.identifier![0]!;
    if (await store.findPatientByIdentifier(system!, value!)) {
      skipped += members.length;
      done += members.length;
      continue;
    }
    batch.push(...members);
    if (batch.length >= BATCH_RESOURCES) await flush();
  }
  await flush();
  report();
  return { stored, skipped };
}

/** Each Patient with the resources that belong to it (the Patient first), in input order. */
function groupByPatient(resources: readonly Resource[]): { patient: Patient; members: Resource[] }[] {
  const groups = new Map<string, { patient: Patient; members: Resource[] }>();
  for (const r of resources) {
    if (r.resourceType !== 'Patient') continue;
    const first = r.identifier?.[0];
    if (!r.id || !first?.system || !first.value) throw new Error(`Patient/${r.id ?? '?'} needs an id and an identifier with system and value to be seeded`);
    if (groups.has(r.id)) throw new Error(`Patient/${r.id} is given twice`);
    groups.set(r.id, { patient: r, members: [r] });
  }
  for (const r of resources) {
    if (r.resourceType === 'Patient') continue;
    const group = groups.get(patientIdOfResource(r) ?? '');
    if (!group) throw new Error(`${r.resourceType}/${r.id ?? '?'} belongs to no Patient being seeded`);
    group.members.push(r);
  }
  return [...groups.values()];
}
