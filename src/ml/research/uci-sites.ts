/**
 * The four UCI heart-disease hospitals (data/uci-heart, src/ml/data.ts) as four study sites' FHIR
 * records (uci-fhir.ts heartRowToFhir), for the bench, the tests and a demo: each patient as their
 * Patient, Observations and Condition, with the stand-in address a consenting patient would have.
 */
import type { Resource } from '@medplum/fhirtypes';
import { HEART_HOSPITALS, loadHeartDisease, type HeartHospital } from '../data.js';
import { heartRowToFhir } from '../uci-fhir.js';

/** One hospital's rows as FHIR, optionally only the rows `keep` accepts (by 0-based row). */
export function heartHospitalResources(hospital: HeartHospital, keep: (row: number) => boolean = () => true): Resource[] {
  const set = loadHeartDisease(hospital);
  const out: Resource[] = [];
  for (let i = 0; i < set.x.rows; i++) {
    if (keep(i)) out.push(...heartRowToFhir(hospital, i, set.x.data.subarray(i * set.x.cols, (i + 1) * set.x.cols), set.y[i]!));
  }
  return out;
}

/** All four hospitals' records, by hospital. */
export function heartSitesResources(): Record<HeartHospital, Resource[]> {
  return Object.fromEntries(HEART_HOSPITALS.map((h) => [h, heartHospitalResources(h)])) as Record<HeartHospital, Resource[]>;
}
