/**
 * Who a study may use at this site: the provider's linked patients (Patient.identifier under
 * ADDRESS_SYSTEM) whose address is enrolled in the study on chain now. Read afresh for every round,
 * so a patient who withdraws is out of the next round at every site, whatever the sites cached.
 *
 * Their records are read from the store by patient (Patient, Observation, Condition: what a study's
 * features come from) and de-identified before any study code sees them: the Patient keeps its local
 * id, gender and birth date, nothing that names or locates the person.
 */
import type { Patient, Resource } from '@medplum/fhirtypes';
import type { Address, Hex } from 'viem';
import { ADDRESS_SYSTEM } from '../../protocol/identifiers.js';
import { MAX_COUNT } from '../../records/search.js';
import { sql, type Sql } from '../../records/sql.js';
import type { RecordStore } from '../../records/store.js';
import type { LedgerClient } from '../../chain/client.js';
import { isEnrolled } from '../../sdk/studies.js';

/** The resource types a study reads. */
const STUDY_TYPES = ['Patient', 'Observation', 'Condition'] as const;
/** Enrolment look-ups in flight at once (one eth_call each). */
const CONCURRENT_CALLS = 16;

export interface ConsentingPatient {
  id: string;
  address: Address;
}

/** Every `type` resource the filter lets through, page by page. */
async function readAll<T extends Resource>(store: RecordStore, type: string, filter?: Sql): Promise<T[]> {
  const all: T[] = [];
  for (let offset = 0; ; offset += MAX_COUNT) {
    const page = await store.search<T>(type, `_count=${MAX_COUNT}&_offset=${offset}`, { filter });
    all.push(...page.resources);
    if (page.resources.length < MAX_COUNT) return all;
  }
}

/** This provider's linked patients enrolled in `studyId` on chain now, by local id. */
export async function consentingPatients(store: RecordStore, ledger: LedgerClient, studyId: Hex): Promise<ConsentingPatient[]> {
  const linked: ConsentingPatient[] = [];
  for (const p of await readAll<Patient>(store, 'Patient')) {
    const address = p.identifier?.find((i) => i.system === ADDRESS_SYSTEM)?.value;
    if (p.id && address) linked.push({ id: p.id, address: address as Address });
  }
  const enrolled: ConsentingPatient[] = [];
  for (let i = 0; i < linked.length; i += CONCURRENT_CALLS) {
    const batch = linked.slice(i, i + CONCURRENT_CALLS);
    const answers = await Promise.all(batch.map((p) => isEnrolled(ledger, studyId, p.address)));
    batch.forEach((p, j) => answers[j] && enrolled.push(p));
  }
  return enrolled;
}

/** A Patient without what names, reaches or locates the person: no name, identifier, telecom, address, photo or contact. */
function deidentifiedPatient(p: Patient): Patient {
  const { name: _n, identifier: _i, telecom: _t, address: _a, photo: _p, contact: _c, text: _x, ...rest } = p;
  return rest;
}

/** The study-relevant records of `patients`, Patients de-identified. */
export async function studyRecords(store: RecordStore, patients: readonly ConsentingPatient[]): Promise<Resource[]> {
  if (patients.length === 0) return [];
  const theirs = sql`patient_id = ANY(${patients.map((p) => p.id)}::text[])`;
  const byType = await Promise.all(STUDY_TYPES.map((type) => readAll<Resource>(store, type, theirs)));
  return byType.flat().map((r) => (r.resourceType === 'Patient' ? deidentifiedPatient(r) : r));
}
