/**
 * The breast-cytology model's card (src/ml/card.ts): intended use, the WDBC data and its licence
 * (data/wdbc/README.md), evaluation, held-out metrics with 95 % bootstrap intervals, calibration, the
 * published figure for the same data, limitations, and the consent-set hash of the 569 training rows
 * (stand-in addresses, train.ts wdbcPatientAddress).
 */
import type { Address, Hex } from 'viem';
import type { ModelCard, SubgroupMetric } from '../card.js';
import type { HeldOutMetrics } from '../card-metrics.js';
import { consentSetHash } from '../consent-set.js';

/** What train.ts measured, for the card and the bench. */
export interface BreastEvaluation {
  heldOut: Float64Array;
  labels: Uint8Array;
  metrics: HeldOutMetrics;
  subgroups: SubgroupMetric[];
}

export const BREAST_MODEL_ID = 'breast-cytology';
export const WDBC_SITE = 'University of Wisconsin Hospitals, Madison';

export function breastCard(o: { rows: number; positives: number; evaluation: BreastEvaluation; modelHash: Hex; lambda: number; addresses: Address[] }): ModelCard {
  const share = Math.round((100 * o.positives) / o.rows);
  return {
    id: BREAST_MODEL_ID,
    name: 'Breast mass malignancy from fine-needle-aspirate cytology (WDBC, ridge logistic regression)',
    version: `1.0 (λ = ${o.lambda})`,
    modelHash: o.modelHash,
    intendedUse:
      'Decision support for a pathologist or clinician reading a breast fine-needle-aspirate cytology report that carries the 30 digitised nuclear features of the Wisconsin method: the calibrated probability that the sampled mass is malignant, with what each feature added.',
    notFor: [
      'Replacing the pathologist’s reading or a biopsy.',
      'Screening, or any sample whose nuclei were not digitised and measured the way the Wisconsin data were (other software gives other numbers).',
      'Other organs, or men (the data are women’s breast masses).',
    ],
    trainingData: {
      name: 'Breast Cancer Wisconsin (Diagnostic), WDBC',
      source: 'https://archive.ics.uci.edu/dataset/17/breast+cancer+wisconsin+diagnostic (vendored in data/wdbc)',
      licence: 'CC BY 4.0',
      citation: 'Wolberg W, Mangasarian O, Street N, Street W (1995). Breast Cancer Wisconsin (Diagnostic) [Dataset]. UCI Machine Learning Repository. https://doi.org/10.24432/C5DW2B',
      rows: o.rows,
      positives: o.positives,
      population: `${o.rows} breast masses of women sampled by fine-needle aspiration at one clinic (${WDBC_SITE}); ${o.positives} (${share} %) malignant. Age and other demographics were not published with the data.`,
    },
    evaluation:
      'Nested stratified 5-fold cross-validation over all rows: in each fold the ridge penalty is chosen by inner 5-fold cross-validation and Platt calibration fitted on inner out-of-fold logits, on the training folds only; metrics are on the held-out calibrated probabilities, operating point probability ≥ 0.5, with 95 % percentile-bootstrap intervals (1,000 resamples). The data come from one clinic and only women, so the per-sex and per-site rows are the whole data set.',
    metrics: o.evaluation.metrics.metrics,
    calibration: o.evaluation.metrics.calibration,
    operatingPoint: o.evaluation.metrics.operatingPoint,
    subgroups: o.evaluation.subgroups,
    published: [
      {
        metric: 'accuracy',
        value: 0.975,
        source: 'Street WN, Wolberg WH, Mangasarian OL. Nuclear feature extraction for breast tumor diagnosis. IS&T/SPIE 1993, vol. 1905, pp. 861-870 (one separating plane on worst area, worst smoothness and mean texture; repeated 10-fold cross-validation, as listed in UCI wdbc.names)',
      },
    ],
    limitations: [
      'One clinic, one image-analysis method: how well it transfers to other laboratories is not known (no per-site evaluation is possible).',
      'The features depend on how nuclei were outlined on the digitised image; a report from other software is out of scope.',
      `The malignant share in training (${share} %) is that of masses referred for aspiration at one clinic, not of any other population.`,
      'The 95 % interval of a probability reflects uncertainty in the coefficients (bootstrap refits), not in the calibration or in filled-in features.',
      'The ECE’s bootstrap interval lies mostly above its value: the ECE of a resample is biased upward (fewer cases per bin).',
    ],
    consentSetHash: consentSetHash(o.addresses),
    onChain: null,
  };
}
