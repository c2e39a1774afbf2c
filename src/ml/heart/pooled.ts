/**
 * The four UCI centres pooled into one training table, each row with its centre and sex (what the
 * evaluation groups by), and the shape of the evaluation train.ts makes of it.
 */
import { HEART_FEATURES, HEART_HOSPITALS, loadHeartDiseaseSites, type HeartHospital } from '../data.js';
import { dataDir } from '../data-dir.js';
import type { HeldOutMetrics } from '../card-metrics.js';
import type { SubgroupMetric } from '../card.js';
import type { TrainingData } from '../logistic.js';
import { stackRows } from '../matrix.js';

/** The pooled rows with each row's centre and sex. */
export interface PooledHeart extends TrainingData {
  site: HeartHospital[];
  sex: string[];
}

export function pooledHeartData(root = dataDir()): PooledHeart {
  const sites = loadHeartDiseaseSites(root);
  const x = stackRows(HEART_HOSPITALS.map((h) => sites[h].x));
  const y = Uint8Array.from(HEART_HOSPITALS.flatMap((h) => [...sites[h].y]));
  const site = HEART_HOSPITALS.flatMap((h) => Array.from({ length: sites[h].x.rows }, () => h));
  const sex = Array.from({ length: x.rows }, (_, i) => (x.data[i * x.cols + 1] === 1 ? 'male' : 'female'));
  return { features: [...HEART_FEATURES], x, y, site, sex };
}

/** What the bench and tests look at beside the card. */
export interface HeartEvaluation {
  heldOut: Float64Array;
  labels: Uint8Array;
  site: HeartHospital[];
  sex: string[];
  metrics: HeldOutMetrics;
  bySex: SubgroupMetric[];
  bySite: SubgroupMetric[];
  /** Accuracy at the operating point per centre, leave-one-site-out (as Detrano et al. 1989 report). */
  siteAccuracy: Record<HeartHospital, HeldOutMetrics['metrics'][string]>;
}

