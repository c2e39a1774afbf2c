/**
 * The model card of a study's model (src/ml/card.ts ModelCard; Mitchell et al., FAT* 2019), built
 * from what the coordinator holds: the definition, the final model, the sites' evaluations
 * (aggregates only) and the on-chain record. Intervals are Hanley & McNeil's (Radiology 1982) for
 * the AUC — computable from an AUC and its class counts, since no site sends a score; the ECE has
 * none (its bins are not resampled across sites).
 */
import type { Hex } from 'viem';
import type { StudyDefinition } from '../../protocol/research/study.js';
import type { MetricEstimate, ModelCard, SubgroupMetric } from '../card.js';
import { combineEvaluations, type SiteEvaluation } from './evaluate.js';
import { studyModelHash, type StudyModel } from './model.js';
import { privacyPlan } from './privacy.js';

/** AUC with a 95 % interval from Hanley & McNeil's standard error. */
export function aucEstimate(a: number, positives: number, negatives: number): MetricEstimate {
  const q1 = a / (2 - a);
  const q2 = (2 * a * a) / (1 + a);
  const variance = (a * (1 - a) + (positives - 1) * (q1 - a * a) + (negatives - 1) * (q2 - a * a)) / Math.max(1, positives * negatives);
  const se = Math.sqrt(Math.max(0, variance));
  return { value: a, low: Math.max(0, a - 1.96 * se), high: Math.min(1, a + 1.96 * se), n: positives + negatives };
}

const point = (value: number, n: number): MetricEstimate => ({ value, low: value, high: value, n });

/** The on-chain record of the study (StudyRegistry) and its result. */
export interface StudyChainRecord {
  registry: Hex;
  studyId: Hex;
  studyHash: Hex;
  /** ε recorded as spent when the last round was opened. */
  epsilonSpent: number;
  rounds: number;
  transactionHash?: Hex;
  blockNumber?: string;
}

export interface StudyModelCard extends ModelCard {
  research: {
    studyId: Hex;
    studyHash: Hex;
    privacy: { epsilon: number; delta: number; clip: number; sigma: number; epsilonSpent: number; accounting: string };
    rounds: number;
    siteIntercept: boolean;
    sites: SiteEvaluation[];
    pooled: { testRows: number; auc: number | null; ece: number | null };
  };
}

export function studyModelCard(o: { study: StudyDefinition; model: StudyModel; evaluations: SiteEvaluation[]; consentSetHash: Hex; chain: StudyChainRecord | null; siteNames?: Record<string, string> }): StudyModelCard {
  const { study, model, evaluations } = o;
  const pooled = combineEvaluations(evaluations);
  const plan = privacyPlan({ ...study.privacy, rounds: study.model.rounds });
  const modelHash = studyModelHash(model);
  const name = (site: string) => o.siteNames?.[site.toLowerCase()] ?? site;
  const subgroups: SubgroupMetric[] = evaluations.map((e) => ({
    by: 'site',
    group: name(e.site),
    n: e.testRows,
    positives: e.testPositives,
    ...(e.auc === null ? {} : { auc: aucEstimate(e.auc, e.testPositives, e.testRows - e.testPositives) }),
  }));
  const positives = evaluations.reduce((n, e) => n + e.testPositives, 0);
  const trainRows = evaluations.reduce((n, e) => n + e.trainRows, 0);
  return {
    id: `study-${(o.chain?.studyId ?? modelHash).slice(2, 10)}`,
    name: `${study.title} (federated ridge logistic regression)`,
    // The version is the number of rounds applied (a study runs once; more rounds, a newer model).
    version: `${model.round} rounds`,
    modelHash,
    intendedUse: study.purpose,
    notFor: ['Decisions about an individual patient without a clinician’s judgement.', 'Populations unlike the consenting patients of the participating sites.', 'Decisions about insurance, employment or access to care.'],
    trainingData: {
      name: `Consenting patients of ${evaluations.length} sites (records never left the sites)`,
      source: 'Each site’s own FHIR records, read at the site for each round.',
      licence: 'Patient consent to this study (on-chain enrolment)',
      citation: study.title,
      rows: trainRows,
      population: study.inclusion,
    },
    evaluation: `Each site held out about a quarter of its consenting patients (split by a hash of the patient id) and scored them with the final model${study.model.siteIntercept ? ' and its own intercept' : ''}; pooled figures combine the sites’ score histograms (100 bins). AUC intervals: Hanley & McNeil 1982.`,
    metrics: pooled.auc === null ? {} : { auc: aucEstimate(pooled.auc, positives, pooled.testRows - positives), ...(pooled.ece === null ? {} : { ece: point(pooled.ece, pooled.testRows) }) },
    subgroups,
    published: [],
    limitations: [
      `Differential privacy (ε = ${study.privacy.epsilon}, δ = ${study.privacy.delta} over ${study.model.rounds} rounds) costs accuracy; it covers the training rounds, not these held-out results.`,
      'Sites differ in case mix and in what they record; a missing value reads as “not recorded”.',
      'Each site’s held-out set is small; per-site intervals are wide.',
    ],
    consentSetHash: o.consentSetHash,
    onChain: o.chain ? { registry: o.chain.registry, modelHash, consentSetHash: o.consentSetHash, transactionHash: o.chain.transactionHash, blockNumber: o.chain.blockNumber } : null,
    research: {
      studyId: o.chain?.studyId ?? ('0x' as Hex),
      studyHash: o.chain?.studyHash ?? ('0x' as Hex),
      privacy: {
        epsilon: study.privacy.epsilon,
        delta: study.privacy.delta,
        clip: study.privacy.clip,
        sigma: plan.sigma,
        epsilonSpent: o.chain?.epsilonSpent ?? study.privacy.epsilon,
        accounting: 'Gaussian mechanism per round on clipped per-patient contributions, zero-concentrated DP composed over rounds and converted to (ε, δ) (Bun & Steinke 2016).',
      },
      rounds: model.round,
      siteIntercept: study.model.siteIntercept,
      sites: evaluations,
      pooled,
    },
  };
}
