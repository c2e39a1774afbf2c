/**
 * Research studies in the EHR Manager (issue 16): the manager's study catalogue API
 * (src/manager/study-routes.ts serves it; the types here are that API's, shared by both ends), the
 * message a sponsor signs to publish results, and the plain words a patient reads about a study.
 */
import { keccak256, stringToHex, type Address, type Hex } from 'viem';
import type { StudyDefinition } from '../../../protocol/research/study.js';
import { HEART_FEATURES } from '../../../ml/heart-codes.js';
import type { StudyModelCard } from '../../../ml/research/card.js';
import type { StudyRun } from '../../../ml/research/coordinator.js';
import type { ManagerConfig } from './session.js';

/** One study as the manager serves it: the published definition and what the chain says now. */
export interface StudyEntry {
  studyId: Hex;
  studyHash: Hex;
  definition: StudyDefinition;
  chain: {
    sponsor: Address;
    expiresAt: string;
    expired: boolean;
    epsilonBudget: number;
    epsilonSpent: number;
    rounds: number;
    minSites: number;
    result?: { modelHash: Hex; consentSetHash: Hex };
  };
  /** Patients enrolled now, on chain (enrolments minus withdrawals). */
  enrolled: number;
  /** Whether the sponsor has published results on this manager. */
  hasResults: boolean;
  /** Asked with ?patient=: whether that patient is enrolled now. */
  patientEnrolled?: boolean;
}

/** What the researcher's browser publishes after a run: the coordinator's report and the model card. */
export interface PublishedStudyResults {
  run: StudyRun;
  card: StudyModelCard;
}

/**
 * What a sponsor signs (EIP-191) to publish a run's results: the study and the keccak256 of the
 * results' JSON. Both ends get the same text from JSON.stringify, as the results travel as JSON and
 * keep their key order.
 */
export function studyResultsMessage(studyId: Hex, results: unknown): string {
  return `MedLedger study results for ${studyId.toLowerCase()}: ${keccak256(stringToHex(JSON.stringify(results)))}`;
}

async function call<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(path, init);
  const body = (await res.json().catch(() => undefined)) as { error?: string } | undefined;
  if (!res.ok) throw new Error(body?.error ?? `the manager answered ${res.status} for ${path}`);
  return body as T;
}

const json = (method: string, body: unknown): RequestInit => ({ method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** Every site a study can run at: the providers, then the research-only sites. */
export const studySites = (config: ManagerConfig) => [...config.providers, ...(config.researchSites ?? [])];

/** Every published study; with `patient`, whether that patient is enrolled in each. */
export const listStudies = (patient?: Address): Promise<StudyEntry[]> =>
  call<{ studies: StudyEntry[] }>(`/api/studies${patient ? `?patient=${patient}` : ''}`).then((r) => r.studies);

/** Publishes a definition the sponsor has registered on chain. */
export const publishStudy = (definition: StudyDefinition): Promise<StudyEntry> => call<StudyEntry>('/api/studies', json('POST', definition));

/** A run's results as the sponsor published them; undefined before any. */
export async function loadResults<T = unknown>(studyId: Hex): Promise<T | undefined> {
  const res = await fetch(`/api/studies/${studyId}/results`);
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`the manager answered ${res.status} for the study's results`);
  return (await res.json()) as T;
}

/** Publishes results signed with the sponsor's key. */
export async function publishResults(signMessage: (m: { message: string }) => Promise<Hex>, studyId: Hex, results: unknown): Promise<void> {
  const signature = await signMessage({ message: studyResultsMessage(studyId, results) });
  const res = await fetch(`/api/studies/${studyId}/results`, json('PUT', { results, signature }));
  if (!res.ok) throw new Error(((await res.json().catch(() => undefined)) as { error?: string } | undefined)?.error ?? `the manager answered ${res.status}`);
}

/** The heart study features in a patient's words (the clinical wording is HEART_FEATURES' description). */
const FEATURE_WORDS: Record<string, string> = {
  age: 'your age',
  sex: 'your sex',
  cp: 'the kind of chest pain you had',
  trestbps: 'your blood pressure at rest',
  chol: 'your cholesterol',
  fbs: 'whether your fasting blood sugar was high',
  restecg: 'your heart tracing (ECG) at rest',
  thalach: 'your highest heart rate in the exercise test',
  exang: 'whether exercise brought on chest pain',
  oldpeak: 'how your heart tracing changed during exercise',
  slope: 'the shape of your heart tracing at peak exercise',
  ca: 'how many heart arteries showed up on the X-ray scan',
  thal: 'the result of your heart scan (thallium)',
};

/** A study feature in a patient's words ("your cholesterol"); the clinical description, or the name, for others. */
export function featureInWords(name: string): string {
  return FEATURE_WORDS[name] ?? HEART_FEATURES.find((f) => f.name === name)?.description ?? name;
}

/** A date a patient reads ("30 June 2027"). */
export const dateInWords = (iso: string): string => new Date(iso).toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric' });

/**
 * A site's consenting-patient count as a gatekeeper reports it (GET /research/studies/{id}): 1 to 4
 * arrive as "<5" so that a small count cannot point at a person.
 */
export const countInWords = (count: number | string): string => (typeof count === 'number' ? `${count} patient${count === 1 ? '' : 's'}` : `${count} patients`);
