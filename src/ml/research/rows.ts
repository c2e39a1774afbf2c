/**
 * A site's study rows from its consenting patients' (de-identified) FHIR records, and the
 * held-out split. The split is a hash of the patient's id (the pseudonym the site's records carry),
 * so every round and the final evaluation agree on it without storing anything, and a patient's rows
 * never move between training and test.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Matrix } from '../matrix.js';
import { takeLabels, takeRows } from '../matrix.js';
import { hashSeed } from '../../random.js';
import { heartRowsFromFhir } from '../uci-fhir.js';

/** Share of each site's patients held out for evaluation. */
export const HELD_OUT_SHARE = 0.25;

/**
 * True for a patient in the held-out quarter: FNV-1a of the id with MurmurHash3's finaliser
 * (hashSeed), so ids differing only in their last digits spread over the whole range. Deterministic,
 * and no need to be secret: the ids are pseudonyms.
 */
export function isHeldOut(patientId: string): boolean {
  return hashSeed(`medledger:study-split:${patientId}`) / 2 ** 32 < HELD_OUT_SHARE;
}

export interface SiteRows {
  train: { x: Matrix; y: Uint8Array; patients: string[] };
  test: { x: Matrix; y: Uint8Array; patients: string[] };
}

/** The site's rows (HEART_FEATURES order, NaN = missing) split into training and held-out. */
export function siteRows(resources: readonly Resource[]): SiteRows {
  const all = heartRowsFromFhir(resources);
  const test: number[] = [];
  const train: number[] = [];
  all.patients.forEach((id, i) => (isHeldOut(id) ? test : train).push(i));
  const part = (idx: number[]) => ({ x: takeRows(all.x, idx), y: takeLabels(all.y, idx), patients: idx.map((i) => all.patients[i]!) });
  return { train: part(train), test: part(test) };
}
