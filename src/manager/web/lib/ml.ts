/**
 * The models the EHR Manager runs in the page: their parameters and cards are fetched from the
 * manager (public, no patient data), and every estimate is computed here, in the reader's browser,
 * from the records the reader's gatekeeper reads returned. Nothing about a patient is sent back.
 */
import type { BreastCytologyModelDocument } from '../../../ml/breast/types.js';
import type { ModelCard } from '../../../ml/card.js';
import type { HeartRiskModelDocument } from '../../../ml/heart/types.js';
import { inWords, percent } from '../../../ml/plain-language.js';

export { inWords, percent };

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path);
  if (!res.ok) {
    const body = (await res.json().catch(() => undefined)) as { error?: string } | undefined;
    throw new Error(body?.error ?? `the manager answered ${res.status} for ${path}`);
  }
  return (await res.json()) as T;
}

// One download per model per page: the parameters do not change while the manager runs.
const documents = new Map<string, Promise<unknown>>();

/** A served model's document (card + parameters), `GET /api/ml/models/{id}`, fetched once per page. */
function loadModelDocument<T>(id: string): Promise<T> {
  let doc = documents.get(id) as Promise<T> | undefined;
  if (!doc) {
    doc = getJson<T>(`/api/ml/models/${encodeURIComponent(id)}`).catch((err: unknown) => {
      documents.delete(id); // let a later panel try again
      throw err;
    });
    documents.set(id, doc);
  }
  return doc;
}

/** The heart-disease risk model (card + parameters). */
export const loadHeartModel = (): Promise<HeartRiskModelDocument> => loadModelDocument<HeartRiskModelDocument>('heart-risk');

/** The breast-cytology (WDBC) model (card + parameters). */
export const loadBreastCytologyModel = (): Promise<BreastCytologyModelDocument> => loadModelDocument<BreastCytologyModelDocument>('breast-cytology');

/** The cards of every model the manager serves (`GET /api/ml/models`; public, no patient data). */
export const listModelCards = (): Promise<ModelCard[]> => getJson<ModelCard[]>('/api/ml/models');

/** The 95 % interval said in words a patient understands. */
export const intervalInWords = (low: number, high: number): string =>
  `The estimate is not exact: the true figure for people like you is most likely between ${inWords(low)} and ${inWords(high)} (${percent(low)} to ${percent(high)}).`;

/** A log-odds contribution with its sign, e.g. "+0.42". */
export const signed = (x: number, digits = 2): string => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(digits)}`;

/** A UCUM unit as people write it: `a` → "years", `mm[Hg]` → "mm Hg"; counts have none. */
export function unitText(unit: string | undefined): string {
  if (!unit || unit.startsWith('{')) return '';
  return ({ a: 'years', 'mm[Hg]': 'mm Hg', '/min': 'per minute' } as Record<string, string>)[unit] ?? unit;
}

/** What a coding system is, in the short form clinicians use. */
export function systemName(system: string): string {
  if (system === 'http://loinc.org') return 'LOINC';
  if (system === 'http://snomed.info/sct') return 'SNOMED CT';
  if (system.startsWith('urn:medledger:')) return 'local code';
  return system;
}
