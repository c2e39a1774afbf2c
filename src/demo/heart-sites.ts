/**
 * The four UCI heart-disease hospitals as research sites (issue 16 §8): each hospital's rows as FHIR
 * (src/ml/uci-fhir.ts) in its own store, and its patients as study participants who sign their own
 * enrolment (EIP-712, src/sdk/studies.ts signEnrollment).
 *
 * The 1988 patients have no wallets, so each row gets a stand-in key derived from a seed, the
 * hospital and the row: keccak256("medledger:uci-heart-key:<seed>:<hospital>:<row>"). These are
 * DEMO AND BENCHMARK KEYS — anyone who knows the seed holds them — never a real patient's key.
 * Which patients consent is drawn from the same seed, so every start enrols the same share.
 */
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { keccak256, stringToHex, type Hex } from 'viem';
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import type { LedgerClient } from '../chain/client.js';
import { HEART_COUNTS, HEART_HOSPITALS, loadHeartDisease, type HeartHospital } from '../ml/data.js';
import { heartRowToFhir, UCI_HEART_SYSTEM } from '../ml/uci-fhir.js';
import type { RecordStore } from '../records/store.js';
import { enrollmentNonce, enrollmentsOf, enrollWithSignatures, signEnrollment } from '../sdk/studies.js';
import { seedStore, type SeedResult } from './seed.js';

export { HEART_HOSPITALS, type HeartHospital };

/** The seed of `npm start`'s research sites: fixed, so every data directory gets the same stand-in keys. */
export const HEART_SITE_SEED = 'medledger-uci-heart-1';
/** Enrolments relayed per transaction (about 35k gas each, far below a block's 30M). */
const ENROLMENT_BATCH = 100;
/** Nonce look-ups in flight at once (one eth_call each). */
const CONCURRENT_CALLS = 16;

export function isHeartHospital(name: string): name is HeartHospital {
  return (HEART_HOSPITALS as readonly string[]).includes(name);
}

/** The stand-in private key of `hospital`'s patient on 0-based `row` (a demo/benchmark key: see above). */
export function heartPatientKey(seed: string, hospital: HeartHospital, row: number): Hex {
  return keccak256(stringToHex(`medledger:uci-heart-key:${seed}:${hospital}:${row + 1}`));
}

/** The stand-in account of that patient. */
export function heartPatientAccount(seed: string, hospital: HeartHospital, row: number): PrivateKeyAccount {
  return privateKeyToAccount(heartPatientKey(seed, hospital, row));
}

/** The hospital's records as FHIR, each Patient linked (ADDRESS_SYSTEM) to its stand-in address. */
export function heartSiteRecords(seed: string, hospital: HeartHospital): Resource[] {
  const set = loadHeartDisease(hospital);
  const out: Resource[] = [];
  for (let i = 0; i < set.x.rows; i++) {
    const values = set.x.data.subarray(i * set.x.cols, (i + 1) * set.x.cols);
    out.push(...heartRowToFhir(hospital, i, values, set.y[i]!, heartPatientAccount(seed, hospital, i).address));
  }
  return out;
}

/**
 * Stores the hospital's records unless already there (seedStore is idempotent by the Patient's
 * identifier). Not re-validated: heartRowToFhir's output is checked by its own round-trip test.
 */
export async function seedHeartSite(store: RecordStore, seed: string, hospital: HeartHospital, onProgress?: (done: number, total: number) => void): Promise<SeedResult> {
  // Seeding writes whole patients in file order, so the last row's Patient means every row is there: a restart skips deriving 300 keys.
  const last = await store.findPatientByIdentifier(`${UCI_HEART_SYSTEM}:${hospital}`, String(HEART_COUNTS[hospital].rows));
  if (last) return { stored: 0, skipped: 0 };
  return seedStore(store, heartSiteRecords(seed, hospital), onProgress, { validate: false });
}

/** The 0-based rows of `hospital` whose patients consent, a seeded `share` of them (the same rows at every start). */
export function consentingRows(seed: string, hospital: HeartHospital, share: number): number[] {
  if (!(share >= 0 && share <= 1)) throw new Error(`the consenting share must be between 0 and 1, not ${share}`);
  const rows: number[] = [];
  const count = loadHeartDisease(hospital).x.rows;
  for (let i = 0; i < count; i++) {
    const draw = Number.parseInt(keccak256(stringToHex(`medledger:uci-heart-consent:${seed}:${hospital}:${i + 1}`)).slice(2, 10), 16) / 2 ** 32;
    if (draw < share) rows.push(i);
  }
  return rows;
}

export interface HeartEnrolment {
  hospitals?: readonly HeartHospital[];
  seed?: string;
  /** Share of each hospital's patients who consent (default 0.8). */
  share?: number;
  onProgress?: (line: string) => void;
}

/**
 * Enrols the consenting share of each hospital's patients in `studyId`, each with their own EIP-712
 * signature, relayed in batches by `relayer` (who pays the gas). Only patients who never answered
 * the study (nonce 0) are signed for: one who enrolled stays, one who withdrew stays out.
 */
export async function enrollHeartPatients(relayer: LedgerClient, studyId: Hex, o: HeartEnrolment = {}): Promise<{ enrolled: number; unchanged: number }> {
  const seed = o.seed ?? HEART_SITE_SEED;
  let enrolled = 0;
  let unchanged = 0;
  // One log query settles everyone enrolled now (every later start); the rest need their nonce.
  const now = new Set((await enrollmentsOf(relayer, studyId)).map((e) => e.patient.toLowerCase()));
  for (const hospital of o.hospitals ?? HEART_HOSPITALS) {
    const all = consentingRows(seed, hospital, o.share ?? 0.8).map((row) => heartPatientAccount(seed, hospital, row));
    const accounts = all.filter((a) => !now.has(a.address.toLowerCase()));
    unchanged += all.length - accounts.length;
    const fresh: PrivateKeyAccount[] = [];
    for (let i = 0; i < accounts.length; i += CONCURRENT_CALLS) {
      const batch = accounts.slice(i, i + CONCURRENT_CALLS);
      const nonces = await Promise.all(batch.map((a) => enrollmentNonce(relayer, studyId, a.address)));
      batch.forEach((a, j) => (nonces[j] === 0 ? fresh.push(a) : unchanged++));
    }
    for (let i = 0; i < fresh.length; i += ENROLMENT_BATCH) {
      const signed = await Promise.all(fresh.slice(i, i + ENROLMENT_BATCH).map((a) => signEnrollment(a, studyId, relayer)));
      await enrollWithSignatures(relayer, studyId, signed);
      enrolled += signed.length;
    }
    if (fresh.length) o.onProgress?.(`${hospital}: ${fresh.length} patients enrolled in study ${studyId.slice(0, 10)}…`);
  }
  return { enrolled, unchanged };
}

/** Where the research sites keep their provider keys (a users directory of their own, so the demo's user list is unchanged) and stores. */
export function researchSitesDir(dataDir: string): string {
  return join(dataDir, 'research-sites');
}

/** The provider user of `hospital`'s research site, in researchSitesDir. */
export const heartSiteUser = (hospital: HeartHospital) => `uci-${hospital}`;
