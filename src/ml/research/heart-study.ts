/**
 * The heart-disease study's definition with the parameters the bench measured (bench/research.ts):
 * all 13 UCI attributes, 10 rounds of DP gradient descent at learning rate 1 with site intercepts,
 * ε = 1 and δ = 1e-5 over the whole study, per-patient clipping norm 1 (a patient's contribution has
 * norm |residual|·‖[row, 1]‖ ≤ √14; in round 1 every residual is ½, so a patient with more than 3 in
 * ‖row‖² — nearly everyone — is scaled down a little). Fewer rounds leave more of the budget to each:
 * at ε = 1, 10 rounds gave a better pooled-test AUC than 20 or 30 (5 seeded runs each, in process).
 */
import type { Address } from 'viem';
import type { StudyDefinition } from '../../protocol/research/study.js';
import { HEART_FEATURES } from '../heart-codes.js';

export function heartStudyDefinition(o: {
  sponsor: { name: string; address: Address };
  expiresAt: string;
  model?: Partial<StudyDefinition['model']>;
  privacy?: Partial<StudyDefinition['privacy']>;
}): StudyDefinition {
  return {
    version: 1,
    title: 'Heart-disease risk across hospitals',
    sponsor: o.sponsor,
    purpose: 'To learn which routine heart work-up results predict coronary artery disease, across hospitals, without any record leaving a hospital.',
    data: { features: HEART_FEATURES.map((f) => f.name) },
    inclusion: 'Adults who had a heart work-up (exercise test, blood pressure, cholesterol) at a participating hospital.',
    model: { type: 'logistic-regression', rounds: 10, learningRate: 1, siteIntercept: true, ...o.model },
    privacy: { epsilon: 1, delta: 1e-5, clip: 1, minSites: 3, ...o.privacy },
    expiresAt: o.expiresAt,
  };
}
