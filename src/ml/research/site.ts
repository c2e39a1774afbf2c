/**
 * A provider's side of a study (src/protocol/research/site.ts ResearchSite), given to its gatekeeper:
 * one round's update over its consenting patients' records, clipped per patient and noised with the
 * Gaussian mechanism (privacy.ts), and the final evaluation on its held-out patients. Only these
 * vectors and aggregates leave the site, and the update only masked (secure aggregation).
 */
import type { Resource } from '@medplum/fhirtypes';
import type { ResearchSite, StudySiteContext } from '../../protocol/research/site.js';
import type { StudyDefinition } from '../../protocol/research/study.js';
import { sigmoid } from '../logistic.js';
import type { Matrix } from '../matrix.js';
import { encodeStudyRow, studyEncoding } from './encoding.js';
import { evaluateSite } from './evaluate.js';
import { groupsOf, interceptFor, parseStudyModel, type StudyModel } from './model.js';
import { addGaussianNoise, cryptoUniform, privacyPlan, type Uniform } from './privacy.js';
import { siteRows } from './rows.js';

export interface SiteUpdateOptions {
  /** Noise source; default the platform's cryptographic generator. */
  random?: Uniform;
  /**
   * No noise (clipping stays). For measurements only — the bench's no-DP baseline and the test that
   * shows the differencing attack works without DP; a deployed site never sets it.
   */
  withoutPrivacy?: boolean;
}

/** This site's slot among the intercept groups. */
function groupOf(study: StudyDefinition, model: StudyModel, context: StudySiteContext): number {
  if (!study.model.siteIntercept) return 0;
  const g = model.sites.findIndex((s) => s.toLowerCase() === context.site.toLowerCase());
  if (g < 0) throw new Error(`site ${context.site} is not one of the study model's sites`);
  return g;
}

/**
 * One round's vector from training rows (see model.ts for the layout): per patient the residual
 * times [row, 1 in the site's group slot], scaled down to L2 norm ≤ clip; the row count in the
 * group's count slot; then Gaussian noise on this site's slots (the other groups' slots are zero
 * whatever the data, so they need none). Returns the vector and how many patients were clipped.
 */
export function siteUpdate(study: StudyDefinition, model: StudyModel, x: Matrix, y: Uint8Array, context: StudySiteContext, options: SiteUpdateOptions = {}): { vector: Float64Array; clipped: number } {
  const encoding = studyEncoding(study.data.features);
  const d = encoding.columns.length;
  const groups = groupsOf(study, model.sites);
  const g = groupOf(study, model, context);
  const a = interceptFor(model, context.site);
  const clip = study.privacy.clip;
  const out = new Float64Array(d + 2 * groups);
  const z = new Float64Array(d);
  let clipped = 0;
  for (let i = 0; i < x.rows; i++) {
    encodeStudyRow(encoding, x.data.subarray(i * x.cols, (i + 1) * x.cols), z);
    let eta = a;
    let norm2 = 1;
    for (let c = 0; c < d; c++) {
      eta += model.weights[c]! * z[c]!;
      norm2 += z[c]! * z[c]!;
    }
    const r = sigmoid(eta) - y[i]!;
    const norm = Math.abs(r) * Math.sqrt(norm2);
    const scale = norm > clip ? clip / norm : 1;
    if (norm > clip) clipped++;
    for (let c = 0; c < d; c++) out[c]! += scale * r * z[c]!;
    out[d + g]! += scale * r;
    out[d + groups + g]! += 1;
  }
  if (!options.withoutPrivacy) {
    const plan = privacyPlan({ ...study.privacy, rounds: study.model.rounds });
    const random = options.random ?? cryptoUniform;
    addGaussianNoise(out, 0, d, plan.gradientNoise, random);
    addGaussianNoise(out, d + g, d + g + 1, plan.gradientNoise, random);
    addGaussianNoise(out, d + groups + g, d + groups + g + 1, plan.sigma, random);
  }
  return { vector: out, clipped };
}

/** The ResearchSite for heart studies over FHIR (src/ml/uci-fhir.ts heartRowsFromFhir). */
export function createHeartResearchSite(options: SiteUpdateOptions = {}): ResearchSite {
  return {
    localUpdate(study, round, model, resources: Resource[], context) {
      const m = parseStudyModel(study, model);
      if (round !== m.round + 1) throw new Error(`round ${round} does not follow the model's round ${m.round}`);
      if (round > study.model.rounds) throw new Error(`round ${round} is past the study's ${study.model.rounds} rounds`);
      const { train } = siteRows(resources);
      return Array.from(siteUpdate(study, m, train.x, train.y, context, options).vector);
    },
    evaluate(study, model, resources: Resource[], context) {
      return evaluateSite(study, parseStudyModel(study, model), siteRows(resources), context.site);
    },
  };
}
