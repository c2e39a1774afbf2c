/**
 * Records-store benchmark: fills a PGlite store with `n` resources across ~1,000 patients, then times
 * the gatekeeper's typical search (`Observation?patient=X&category=laboratory&_count=20` with a
 * consent-like filter ANDed in) and a primary-key read for reference. Target: search p50 ≤ 2 ms.
 *
 *   node --import tsx bench/store.ts [n] [dataDir]
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { Condition, MedicationRequest, Observation, Patient, Resource } from '@medplum/fhirtypes';
import { openDb } from '../src/records/db.js';
import { and, sql } from '../src/records/sql.js';
import { RecordStore } from '../src/records/store.js';
import { seededRandom } from '../src/random.js';

export interface StoreBench {
  resources: number;
  searchP50Ms: number;
  searchP99Ms: number;
  readP50Ms: number;
  fillSeconds: number;
}

const PATIENTS = 1000;
const SEARCHES = 2000;
const BATCH = 5000;

type Concept = readonly [code: string, display: string, unit: string];
const LABS: readonly Concept[] = [['4548-4', 'Hemoglobin A1c', '%'], ['2345-7', 'Glucose', 'mg/dL'], ['2093-3', 'Cholesterol', 'mg/dL'], ['718-7', 'Hemoglobin', 'g/dL'], ['2160-0', 'Creatinine', 'mg/dL']] as const;
const VITALS: readonly Concept[] = [['8867-4', 'Heart rate', '/min'], ['8310-5', 'Body temperature', 'Cel'], ['29463-7', 'Body weight', 'kg'], ['9279-1', 'Respiratory rate', '/min']] as const;
const CONDITIONS = [['44054006', 'Diabetes mellitus type 2'], ['38341003', 'Hypertension'], ['195967001', 'Asthma'], ['35489007', 'Depressive disorder']] as const;
const MEDICATIONS = [['860975', 'metformin 500 MG'], ['197361', 'amlodipine 5 MG'], ['745679', 'albuterol inhaler']] as const;
const SENSITIVE = ['R', 'V', 'HIV', 'PSY', 'SUD', 'ETH', 'STD', 'SDV', 'SEX'];

/** A deterministic generator (the project's one, src/random.ts), so runs are comparable. */
const random = seededRandom;

function generate(i: number, rand: () => number): Resource {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  const subject = { reference: `Patient/pt-${i % PATIENTS}` };
  const date = new Date(Date.UTC(2015, 0, 1) + rand() * 10 * 365 * 86_400_000).toISOString();
  const meta = rand() < 0.05 ? { meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }] } } : {};
  const kind = rand();
  if (kind < 0.7) {
    const laboratory = rand() < 0.5;
    const [code, display, unit] = pick(laboratory ? LABS : VITALS);
    return {
      resourceType: 'Observation',
      ...meta,
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: laboratory ? 'laboratory' : 'vital-signs' }] }],
      code: { coding: [{ system: 'http://loinc.org', code, display }], text: display },
      subject,
      effectiveDateTime: date,
      valueQuantity: { value: Math.round(rand() * 2000) / 10, unit, system: 'http://unitsofmeasure.org', code: unit },
    } satisfies Observation;
  }
  if (kind < 0.85) {
    const [code, display] = pick(CONDITIONS);
    return {
      resourceType: 'Condition',
      ...meta,
      clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'problem-list-item' }] }],
      code: { coding: [{ system: 'http://snomed.info/sct', code, display }] },
      subject,
      onsetDateTime: date.slice(0, 10),
    } satisfies Condition;
  }
  const [code, display] = pick(MEDICATIONS);
  return {
    resourceType: 'MedicationRequest',
    ...meta,
    status: 'active',
    intent: 'order',
    medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code, display }] },
    subject,
    authoredOn: date.slice(0, 10),
  } satisfies MedicationRequest;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
const round = (ms: number) => Math.round(ms * 1000) / 1000;

export async function benchStore(n = 100_000, dataDir = 'memory://'): Promise<StoreBench> {
  const db = await openDb({ dataDir });
  try {
    const store = await RecordStore.open(db);
    const rand = random(42);
    const started = performance.now();
    const patients: Patient[] = Array.from({ length: PATIENTS }, (_, i) => ({
      resourceType: 'Patient',
      id: `pt-${i}`,
      name: [{ family: `Family${i}`, given: ['Given'] }],
      identifier: [{ system: 'urn:oid:1.2.36.146.595.217.0.1', value: `MRN-${i}` }],
      gender: i % 2 ? 'female' : 'male',
      birthDate: `19${50 + (i % 50)}-0${1 + (i % 9)}-1${i % 10}`,
    }));
    await store.createMany(patients, { validate: false });
    let observations: string[] = [];
    for (let done = PATIENTS; done < n; ) {
      const batch = Array.from({ length: Math.min(BATCH, n - done) }, (_, j) => generate(done + j, rand));
      const saved = await store.createMany(batch, { validate: false });
      observations = observations.concat(saved.filter((r) => r.resourceType === 'Observation').map((r) => r.id));
      done += batch.length;
      if (done % 20_000 < BATCH || done === n) console.log(`  filled ${done.toLocaleString('en')} / ${n.toLocaleString('en')}`);
    }
    // A provider database has its statistics (autovacuum); PGlite runs no autovacuum, so analyze once.
    await db.exec('ANALYZE');
    const fillSeconds = (performance.now() - started) / 1000;

    const time = async (fn: (i: number) => Promise<unknown>): Promise<number[]> => {
      for (let i = 0; i < 200; i++) await fn(i); // warm-up: plan caches, JIT
      const ms: number[] = [];
      for (let i = 0; i < SEARCHES; i++) {
        const t = performance.now();
        await fn(i);
        ms.push(performance.now() - t);
      }
      return ms.sort((a, b) => a - b);
    };
    const searchRand = random(7);
    let returned = 0;
    const search = await time(async () => {
      const patient = `pt-${Math.floor(searchRand() * PATIENTS)}`;
      // What the consent compiler builds for a viewer's grant of this patient's lab results.
      const filter = and([
        sql`resource_type = 'Observation'`,
        sql`patient_id = ${patient}`,
        sql`categories && ${['laboratory']}::text[]`,
        sql`NOT (security && ${SENSITIVE}::text[])`,
      ]);
      const { resources } = await store.search('Observation', `patient=${patient}&category=laboratory&_count=20`, { filter });
      returned += resources.length;
    });
    if (returned === 0) throw new Error('the searches found nothing: the benchmark measures nothing');
    const read = await time(async () => store.read('Observation', observations[Math.floor(searchRand() * observations.length)]!));
    return {
      resources: await store.countResources(),
      searchP50Ms: round(percentile(search, 0.5)),
      searchP99Ms: round(percentile(search, 0.99)),
      readP50Ms: round(percentile(read, 0.5)),
      fillSeconds: Math.round(fillSeconds * 10) / 10,
    };
  } finally {
    await db.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const n = Number(process.argv[2] ?? 100_000);
  console.log(`records store: ${n.toLocaleString('en')} resources across ${PATIENTS} patients…`);
  console.log(await benchStore(n, process.argv[3]));
}
