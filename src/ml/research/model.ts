/**
 * The study model and the coordinator's step. The model is plain JSON (it travels to every site in
 * every round request) and holds the optimiser state, so the coordinator stays stateless between
 * rounds.
 *
 * Training is differentially private full-batch gradient descent (DP-GD; Abadi et al., CCS 2016,
 * without sampling) on the ridge logistic objective Σ log-loss + λ/2·‖w‖², with heavy-ball momentum
 * applied by the coordinator (post-processing: it costs no privacy). Each site sends one vector per
 * round (see `updateLength`):
 *
 *   [ Σ clipped rᵢ·xᵢ (one per column) | Σ clipped rᵢ per intercept group | rows per group ]
 *
 * with rᵢ = σ(ηᵢ) − yᵢ the patient's residual. Site heterogeneity: with `siteIntercept`, every site is
 * its own intercept group (a fixed site effect: the shared weights say how risk factors act, each
 * site's intercept absorbs its base rate — Switzerland's rows are 93 % diseased, Hungary's 36 %), and
 * the sum still says nothing about a single site beyond its own noised slot; without, one group.
 * The rows per group are noisy; the coordinator keeps their running mean to scale the steps.
 */
import { keccak256, stringToBytes, type Hex } from 'viem';
import type { StudyDefinition } from '../../protocol/research/study.js';
import { canonicalJson } from '../../records/hash.js';
import { sigmoid } from '../logistic.js';
import { encodeStudyRow, studyEncoding, type StudyEncoding } from './encoding.js';

/** Ridge penalty λ on the summed log-loss (as src/ml/federated.ts); fixed, so the study hash covers it implicitly. */
export const STUDY_RIDGE = 3;
/** Heavy-ball momentum of the coordinator's step. */
export const STUDY_MOMENTUM = 0.8;
/** A group's step never divides by fewer rows than this (a noisy count can come out tiny). */
const MIN_GROUP_ROWS = 20;

export interface StudyModel {
  kind: 'medledger-study-logistic';
  version: 1;
  /** Encoded column names (src/ml/research/encoding.ts), in weight order. */
  columns: string[];
  weights: number[];
  /** Intercept for a site outside the study (with site intercepts: their row-weighted mean). */
  intercept: number;
  /** The study's sites (provider addresses, sorted as the gatekeeper's context lists them). */
  sites: string[];
  /** One per site when the study has site intercepts, otherwise empty. */
  siteIntercepts: number[];
  /** Rounds applied so far. */
  round: number;
  /** Optimiser state: momentum per weight, then per intercept group. */
  velocity: number[];
  /** Running mean of the noisy rows per intercept group. */
  rows: number[];
}

/** Intercept groups: one per site with site intercepts, else one. */
export const groupsOf = (study: StudyDefinition, sites: readonly string[]) => (study.model.siteIntercept ? sites.length : 1);

/** Length of every site's vector for a study: columns + 2 × groups. */
export function updateLength(study: StudyDefinition, sites: readonly string[]): number {
  return studyEncoding(study.data.features).columns.length + 2 * groupsOf(study, sites);
}

/** The model before round 1: all zeros. */
export function initialStudyModel(study: StudyDefinition, sites: readonly string[]): StudyModel {
  const encoding = studyEncoding(study.data.features);
  const groups = groupsOf(study, sites);
  const d = encoding.columns.length;
  return {
    kind: 'medledger-study-logistic',
    version: 1,
    columns: encoding.columns.map((c) => c.name),
    weights: new Array<number>(d).fill(0),
    intercept: 0,
    sites: [...sites],
    siteIntercepts: study.model.siteIntercept ? new Array<number>(groups).fill(0) : [],
    round: 0,
    velocity: new Array<number>(d + groups).fill(0),
    rows: new Array<number>(groups).fill(0),
  };
}

/** Checks that `value` is a model of this study (as it arrives at a site) and returns it. */
export function parseStudyModel(study: StudyDefinition, value: unknown): StudyModel {
  const m = value as StudyModel;
  const fail = (why: string): never => {
    throw new Error(`not a model of this study: ${why}`);
  };
  if (typeof m !== 'object' || m === null || m.kind !== 'medledger-study-logistic' || m.version !== 1) fail('wrong kind or version');
  const columns = studyEncoding(study.data.features).columns.map((c) => c.name);
  if (!Array.isArray(m.columns) || m.columns.join('\n') !== columns.join('\n')) fail('columns differ from the study features');
  if (!Array.isArray(m.sites) || !m.sites.every((s) => typeof s === 'string')) fail('sites must be a list');
  const groups = groupsOf(study, m.sites);
  const finite = (a: unknown, n: number) => Array.isArray(a) && a.length === n && a.every((v) => typeof v === 'number' && Number.isFinite(v));
  if (!finite(m.weights, columns.length)) fail(`weights must be ${columns.length} numbers`);
  if (!finite(m.siteIntercepts, study.model.siteIntercept ? groups : 0)) fail('wrong number of site intercepts');
  if (!finite(m.velocity, columns.length + groups) || !finite(m.rows, groups)) fail('wrong optimiser state');
  if (!Number.isFinite(m.intercept) || !Number.isInteger(m.round) || m.round < 0) fail('bad intercept or round');
  return m;
}

/** The intercept a site's patients are scored with: its own, or the shared one. */
export function interceptFor(model: StudyModel, site: string | undefined): number {
  const i = site === undefined ? -1 : model.sites.findIndex((s) => s.toLowerCase() === site.toLowerCase());
  return model.siteIntercepts.length > 0 && i >= 0 ? model.siteIntercepts[i]! : model.intercept;
}

/** Risk for each raw row (HEART_FEATURES order, NaN = missing) at `site` (its intercept, if it has one). */
export function predictStudy(model: StudyModel, encoding: StudyEncoding, x: { data: Float64Array; rows: number; cols: number }, site?: string): Float64Array {
  const a = interceptFor(model, site);
  const out = new Float64Array(x.rows);
  const z = new Float64Array(encoding.columns.length);
  for (let i = 0; i < x.rows; i++) {
    encodeStudyRow(encoding, x.data.subarray(i * x.cols, (i + 1) * x.cols), z);
    let eta = a;
    for (let c = 0; c < z.length; c++) eta += model.weights[c]! * z[c]!;
    out[i] = sigmoid(eta);
  }
  return out;
}

/**
 * The coordinator's step: from the sum over sites of one round's vectors to the next model.
 * Weights step on the mean gradient over all rows (ridge included); each intercept on its group's
 * mean residual. Momentum: v ← β·v + g, θ ← θ − η·v.
 */
export function applyRound(study: StudyDefinition, model: StudyModel, sum: readonly number[]): StudyModel {
  const d = model.weights.length;
  const groups = groupsOf(study, model.sites);
  if (sum.length !== d + 2 * groups) throw new Error(`applyRound: the sum has ${sum.length} numbers, expected ${d + 2 * groups}`);
  if (!sum.every(Number.isFinite)) throw new Error('applyRound: the sum has a number that is not finite');
  const t = model.round + 1;
  const rows = model.rows.map((r, g) => (r * (t - 1) + sum[d + groups + g]!) / t);
  const total = Math.max(1, rows.reduce((a, r) => a + Math.max(0, r), 0));
  const eta = study.model.learningRate;
  const velocity = [...model.velocity];
  const weights = model.weights.map((w, c) => {
    velocity[c] = STUDY_MOMENTUM * velocity[c]! + (sum[c]! + STUDY_RIDGE * w) / total;
    return w - eta * velocity[c]!;
  });
  const intercepts = (study.model.siteIntercept ? model.siteIntercepts : [model.intercept]).map((a, g) => {
    velocity[d + g] = STUDY_MOMENTUM * velocity[d + g]! + sum[d + g]! / Math.max(MIN_GROUP_ROWS, rows[g]!);
    return a - eta * velocity[d + g]!;
  });
  const intercept = study.model.siteIntercept ? meanIntercept(intercepts, rows) : intercepts[0]!;
  return { ...model, weights, intercept, siteIntercepts: study.model.siteIntercept ? intercepts : [], round: t, velocity, rows };
}

/** The site intercepts' mean weighted by their (noisy, so clamped at 0) rows: the intercept for a site outside the study. */
function meanIntercept(intercepts: readonly number[], rows: readonly number[]): number {
  const weights = rows.map((r) => Math.max(0, r));
  const total = weights.reduce((a, b) => a + b, 0);
  if (total === 0) return intercepts.reduce((a, b) => a + b, 0) / intercepts.length;
  return intercepts.reduce((a, b, g) => a + b * weights[g]!, 0) / total;
}

/** keccak256 of the canonical JSON of what predicts (columns, weights, intercepts, sites): the hash recorded on chain. */
export function studyModelHash(model: StudyModel): Hex {
  const { columns, weights, intercept, sites, siteIntercepts } = model;
  return keccak256(stringToBytes(canonicalJson({ columns, weights, intercept, sites, siteIntercepts })));
}
