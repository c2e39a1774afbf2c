/**
 * Model cards: what a model is for, what it was trained on (and under which licence), how well it does
 * with 95 % bootstrap intervals, how well its probabilities are calibrated, how it does per sex and per
 * site, what it must not be used for, and which on-chain record and consent set it belongs to.
 * Served as JSON by the manager (`GET /api/ml/models/{id}/card`), shown in the EHR Manager, printed by
 * `medledger ml card <model>`.
 * Format after Mitchell et al., "Model Cards for Model Reporting", FAT* 2019 (https://arxiv.org/abs/1810.03993).
 */
import type { Hex } from 'viem';

/** A metric with its 95 % bootstrap interval (percentile method) over `n` evaluation cases. */
export interface MetricEstimate {
  value: number;
  low: number;
  high: number;
  n: number;
}

export interface CalibrationBin {
  lower: number;
  upper: number;
  count: number;
  meanPredicted: number;
  observedRate: number;
}

export interface SubgroupMetric {
  /** What the group is: 'sex' (female / male) or 'site' (the hospital the rows came from). */
  by: 'sex' | 'site';
  group: string;
  n: number;
  positives: number;
  /** Absent when the group has one class only (AUC undefined). */
  auc?: MetricEstimate;
}

/** A figure published by others for the same task, cited so readers can compare. */
export interface PublishedFigure {
  metric: string;
  value: number;
  source: string;
}

export interface ModelCard {
  /** Stable id used in URLs and the CLI, e.g. `heart-risk`. */
  id: string;
  name: string;
  version: string;
  /** keccak256 of the model's parameters, as recorded on chain. */
  modelHash: Hex;
  intendedUse: string;
  /** Uses the model is not fit for. */
  notFor: string[];
  trainingData: {
    name: string;
    source: string;
    licence: string;
    citation: string;
    rows: number;
    positives?: number;
    /** Who is in it (ages, sexes, sites, years), in words. */
    population: string;
  };
  /** How it was evaluated (split, folds, seeds), in words. */
  evaluation: string;
  metrics: Record<string, MetricEstimate>;
  calibration?: { ece: MetricEstimate; bins: CalibrationBin[] };
  operatingPoint?: { threshold: number; sensitivity: MetricEstimate; specificity: MetricEstimate };
  subgroups: SubgroupMetric[];
  published: PublishedFigure[];
  limitations: string[];
  /** Hash of the set of patients whose records trained it (src/ml/consent-set.ts). */
  consentSetHash: Hex;
  /** The ModelRegistry record, once recorded on chain (null when the model was not recorded). */
  onChain: { registry: Hex; modelHash: Hex; consentSetHash: Hex; transactionHash?: Hex; blockNumber?: string } | null;
}
