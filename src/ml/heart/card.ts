/**
 * The heart-disease model's card (src/ml/card.ts; Mitchell et al. 2019): what it is for and not for,
 * the UCI data it was trained on and its licence (data/uci-heart/README.md), who is in that data, how
 * it was evaluated, the held-out numbers with 95 % bootstrap intervals, calibration, per-sex and
 * per-centre AUC, the figures published for the same data, limitations, and the consent-set hash of
 * the 920 training patients (their stand-in addresses, uci-fhir.ts heartPatientAddress).
 */
import type { Hex } from 'viem';
import type { ModelCard } from '../card.js';
import { consentSetHash } from '../consent-set.js';
import { HEART_HOSPITAL_NAMES, HEART_HOSPITALS } from '../heart-codes.js';
import { heartPatientAddress } from '../uci-fhir.js';
import type { HeartEvaluation, PooledHeart } from './pooled.js';

export const HEART_MODEL_ID = 'heart-risk';

const DETRANO_1989 =
  'Detrano R, Janosi A, Steinbrunn W, et al. International application of a new probability algorithm for the diagnosis of coronary artery disease. Am J Cardiol 1989;64:304-310 (accuracy at a 0.5 probability threshold of a discriminant function derived from the Cleveland data, as listed in UCI heart-disease.names)';

const pct = (v: number) => `${Math.round(v * 100)} %`;

/** Who is in the training data, in words, from the data itself. */
function population(data: PooledHeart): string {
  const ages = Array.from({ length: data.y.length }, (_, i) => data.x.data[i * data.x.cols]!).sort((a, b) => a - b);
  const men = data.sex.filter((s) => s === 'male').length / data.sex.length;
  const counts = HEART_HOSPITALS.map((h) => `${HEART_HOSPITAL_NAMES[h]} (${data.site.filter((s) => s === h).length})`).join(', ');
  const disease = data.y.reduce((a, b) => a + b, 0) / data.y.length;
  return `${data.y.length} adults referred for coronary angiography at four centres in the 1980s (the data were donated to UCI in July 1988; Detrano et al. 1989): ${counts}. Ages ${ages[0]}–${ages.at(-1)} (median ${ages[ages.length >> 1]}), ${pct(men)} men; ${pct(disease)} had more than 50 % narrowing of a major coronary artery.`;
}

export function heartCard(o: { data: PooledHeart; evaluation: HeartEvaluation; modelHash: Hex; lambda: number }): ModelCard {
  const { data, evaluation } = o;
  const addresses = HEART_HOSPITALS.flatMap((h) => Array.from({ length: data.site.filter((s) => s === h).length }, (_, row) => heartPatientAddress(h, row)));
  const siteAccuracy = Object.fromEntries(HEART_HOSPITALS.map((h) => [`accuracy.leaveSiteOut.${h}`, evaluation.siteAccuracy[h]]));
  return {
    id: HEART_MODEL_ID,
    name: 'Coronary artery disease risk (UCI Heart Disease, ridge logistic regression)',
    version: `1.0 (λ = ${o.lambda})`,
    modelHash: o.modelHash,
    intendedUse:
      'Decision support for a clinician assessing an adult with suspected coronary artery disease: the calibrated probability that coronary angiography would show more than 50 % narrowing of a major artery, from 13 clinical, ECG, exercise-test and scan results, with what each result added and which were missing. Shown to the patient on their own records in plain language.',
    notFor: [
      'Diagnosing or ruling out coronary artery disease on its own: it is one input to a clinician’s judgement.',
      'Screening people without symptoms: the training patients were referred for angiography, and 55 % of them had disease, far more than in the general population.',
      'Acute chest pain or suspected heart attack (emergency triage).',
      'Children, or adults outside the training ages (28–77).',
      'Decisions about insurance, employment or access to care.',
    ],
    trainingData: {
      name: 'UCI Heart Disease, four centres (processed 14-attribute files)',
      source: 'https://archive.ics.uci.edu/dataset/45/heart+disease (vendored in data/uci-heart)',
      licence: 'CC BY 4.0',
      citation: 'Janosi A, Steinbrunn W, Pfisterer M, Detrano R (1988). Heart Disease [Dataset]. UCI Machine Learning Repository. https://doi.org/10.24432/C52P4X',
      rows: data.y.length,
      positives: data.y.reduce((a, b) => a + b, 0),
      population: population(data),
    },
    evaluation:
      'Nested stratified 5-fold cross-validation over all 920 rows (folds stratified by centre and outcome): in each fold the ridge penalty is chosen by inner 5-fold cross-validation and Platt calibration fitted on inner out-of-fold logits, on the training folds only; metrics are on the held-out calibrated probabilities, operating point probability ≥ 0.5, with 95 % percentile-bootstrap intervals (1,000 resamples). Per-sex AUC: the same held-out probabilities. Per-centre AUC and accuracy: leave-one-site-out — a model fitted the same way on the other three centres predicts every row of the fourth.',
    metrics: { ...evaluation.metrics.metrics, ...siteAccuracy },
    calibration: evaluation.metrics.calibration,
    operatingPoint: evaluation.metrics.operatingPoint,
    subgroups: [...evaluation.bySex, ...evaluation.bySite],
    published: [
      { metric: 'accuracy.leaveSiteOut.hungarian', value: 0.77, source: DETRANO_1989 },
      { metric: 'accuracy.leaveSiteOut.va', value: 0.79, source: DETRANO_1989 },
      { metric: 'accuracy.leaveSiteOut.switzerland', value: 0.81, source: DETRANO_1989 },
    ],
    limitations: [
      'Patients seen in the 1980s at four referral centres: tests, treatments and populations have changed since.',
      'Outside Cleveland many inputs were not recorded (vessels coloured by fluoroscopy in 291 of 294 Hungarian, 118 of 123 Swiss and 198 of 200 VA rows; cholesterol in every Swiss row); a missing input is filled with the training median (or counted as unknown), so such estimates rest on fewer real results.',
      'Switzerland has 8 patients without disease among 123: its AUC interval is very wide.',
      `${pct(data.sex.filter((s) => s === 'female').length / data.sex.length)} of the training patients are women: the estimate for women is less certain (see the per-sex AUC).`,
      'The outcome is angiographic narrowing, not heart attacks or deaths.',
      'Contributions are associations relative to the average training patient, not causes: changing a modifiable input may not change a person’s true risk by as much.',
      'The 95 % interval of a probability reflects uncertainty in the coefficients (bootstrap refits), not in the calibration or in filled-in inputs.',
      'The ECE’s bootstrap interval lies mostly above its value: the ECE of a resample is biased upward (fewer cases per bin).',
      'Published figures differ in method: Detrano et al. derived their function on Cleveland only and tested on each other centre; here each centre is predicted by a model fitted on the other three.',
    ],
    consentSetHash: consentSetHash(addresses),
    onChain: null,
  };
}
