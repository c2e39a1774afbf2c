/**
 * Federated averaging (FedAvg, McMahan et al. 2017) of the ridge logistic model over sites that
 * each keep their own rows. What leaves a site: counts and sums of its columns (to agree on fill
 * values and standardisation) and coefficient vectors after local training. Never a row.
 *
 * Protocol:
 * 1. Fill values: each site reports, per raw feature, the count of present values and their sum;
 *    the coordinator fills a missing value with the pooled mean (a median cannot be pooled from
 *    sums).
 * 2. Standardisation: each site encodes its rows with that layout and reports n, Σx and Σx² per
 *    column; the coordinator derives the pooled mean and standard deviation, identical to what a
 *    central model would compute on the union of the rows.
 * 3. Rounds: each site starts from the global coefficients and takes `localSteps` full-batch
 *    gradient steps on its share of the global objective (its summed log-loss plus λ·nₛ/N of the
 *    ridge penalty, so the shares add up to the central objective); the coordinator averages the
 *    returned coefficients weighted by nₛ. After each round `onRound` receives the model hash so
 *    the round can be recorded (e.g. on chain).
 */
import type { Hex } from 'viem';
import { hashModel, sigmoid, type LogisticModel } from './logistic.js';
import type { Matrix } from './matrix.js';
import { encodeRows, encodedSums, layoutFor, standardiseFromSums, type EncodeOptions, type Encoder, type FeatureSpec, type Layout } from './preprocess.js';

/** One site's rows: raw values (NaN = missing) and 0/1 labels. They stay at the site. */
export interface Site {
  name: string;
  x: Matrix;
  y: Uint8Array;
}

export interface FedOptions extends Omit<EncodeOptions, 'impute'> {
  features: readonly FeatureSpec[];
  /** Ridge penalty on the pooled summed log-loss (as in trainLogistic). Default 3. */
  lambda?: number;
  /** Communication rounds. Default 100. */
  rounds?: number;
  /**
   * Gradient steps per site per round. Default 2. More local steps save rounds but let each site
   * drift towards its own optimum (the hospitals differ a lot: 93 % of Swiss rows have disease),
   * and FedAvg then settles away from the central solution; 1 step is exact distributed gradient
   * descent.
   */
  localSteps?: number;
  /** Step size on the site's mean loss (columns are standardised, so ~1 is stable). Default 1. */
  learningRate?: number;
}

export interface RoundReport {
  round: number;
  /** keccak256 of the model's canonical JSON (hashModel). */
  modelHash: Hex;
  /** Who took part, with how many rows each (the averaging weights). */
  sites: { name: string; rows: number }[];
}

/** What a site shares in step 1: per raw feature, how many values are present and their sum. */
export interface SiteFeatureSums {
  rows: number;
  present: number[];
  sum: number[];
}

/** Site side, step 1. */
export function siteFeatureSums(site: Site): SiteFeatureSums {
  const { x } = site;
  const present = new Array<number>(x.cols).fill(0);
  const sum = new Array<number>(x.cols).fill(0);
  for (let i = 0; i < x.rows; i++) {
    for (let j = 0; j < x.cols; j++) {
      const v = x.data[i * x.cols + j]!;
      if (Number.isNaN(v)) continue;
      present[j]!++;
      sum[j]! += v;
    }
  }
  return { rows: x.rows, present, sum };
}

/** Coordinator, step 1: the shared layout (fill = pooled mean) from the sites' sums. */
export function layoutFromSums(features: readonly FeatureSpec[], sums: readonly SiteFeatureSums[], options: EncodeOptions = {}): Layout {
  const rows = sums.reduce((n, s) => n + s.rows, 0);
  const fill: number[] = [];
  const withIndicator: boolean[] = [];
  features.forEach((_, j) => {
    const present = sums.reduce((n, s) => n + s.present[j]!, 0);
    const total = sums.reduce((n, s) => n + s.sum[j]!, 0);
    fill.push(present === 0 ? 0 : total / present);
    const missingShare = 1 - present / Math.max(1, rows);
    withIndicator.push(options.missingIndicatorShare !== undefined && missingShare > 0 && missingShare >= options.missingIndicatorShare);
  });
  return layoutFor(features, fill, withIndicator, options);
}

/** Coordinator, step 2: the pooled standardisation from each site's encodedSums(layout, x). */
export function encoderFromSums(layout: Layout, sums: readonly { n: number; sum: ArrayLike<number>; sumSquares: ArrayLike<number> }[]): Encoder {
  const k = layout.columns.length;
  const n = sums.reduce((a, s) => a + s.n, 0);
  const sum = new Float64Array(k);
  const sumSquares = new Float64Array(k);
  for (const s of sums) {
    for (let c = 0; c < k; c++) {
      sum[c]! += s.sum[c]!;
      sumSquares[c]! += s.sumSquares[c]!;
    }
  }
  return { ...layout, ...standardiseFromSums(n, sum, sumSquares) };
}

/**
 * Site side, step 3: `steps` gradient steps from `start` (intercept first) on this site's share of
 * the objective, scaled by 1/nₛ so the step size does not depend on the site's size.
 * `penaltyShare` is λ·nₛ/N.
 */
export function siteLocalUpdate(z: Matrix, y: Uint8Array, start: Float64Array, options: LocalUpdateOptions): Float64Array {
  const d = z.cols;
  const beta = Float64Array.from(start);
  const gradient = new Float64Array(d + 1);
  for (let step = 0; step < options.steps; step++) {
    gradient.fill(0);
    for (let i = 0; i < z.rows; i++) {
      let eta = beta[0]!;
      for (let j = 0; j < d; j++) eta += beta[j + 1]! * z.data[i * d + j]!;
      const residual = sigmoid(eta) - y[i]!;
      gradient[0]! += residual;
      for (let j = 0; j < d; j++) gradient[j + 1]! += residual * z.data[i * d + j]!;
    }
    for (let j = 1; j <= d; j++) gradient[j]! += options.penaltyShare * beta[j]!;
    for (let j = 0; j <= d; j++) beta[j]! -= (options.learningRate * gradient[j]!) / z.rows;
  }
  return beta;
}

/** What a site shares in step 2: n, Σx and Σx² of its rows encoded with the shared layout. */
export interface SiteEncodedSums {
  n: number;
  sum: ArrayLike<number>;
  sumSquares: ArrayLike<number>;
}

export interface LocalUpdateOptions {
  /** λ·nₛ/N. */
  penaltyShare: number;
  steps: number;
  learningRate: number;
}

/**
 * A site as the coordinator sees it: three calls, each answered with counts, sums or a coefficient
 * vector, never a row. In a deployment each call crosses the network to the site;
 * src/ml/federated-research.ts runs one over a provider's own records store, `localSite` wraps rows
 * held in memory.
 */
export interface FederatedSite {
  readonly name: string;
  /** Step 1: rows, and per raw feature the count of present values and their sum. */
  featureSums(): SiteFeatureSums | Promise<SiteFeatureSums>;
  /** Step 2: sums of the site's rows encoded with the shared layout (encodedSums). */
  encodedSums(layout: Layout): SiteEncodedSums | Promise<SiteEncodedSums>;
  /** Step 3: siteLocalUpdate from `start` on the site's rows standardised with the shared `encoder`. */
  localUpdate(encoder: Encoder, start: ArrayLike<number>, options: LocalUpdateOptions): ArrayLike<number> | Promise<ArrayLike<number>>;
}

/** A site over rows in memory; it standardises them once per encoder. */
export function localSite(site: Site): FederatedSite {
  let encoded: { encoder: Encoder; z: Matrix } | undefined;
  return {
    name: site.name,
    featureSums: () => siteFeatureSums(site),
    encodedSums: (layout) => encodedSums(layout, site.x),
    localUpdate(encoder, start, options) {
      if (encoded?.encoder !== encoder) encoded = { encoder, z: encodeRows(encoder, site.x) };
      return siteLocalUpdate(encoded.z, site.y, Float64Array.from(start), options);
    },
  };
}

/**
 * Trains the model by federated averaging over sites that answer only with aggregates (the
 * coordinator's side of the protocol above). Sites without rows sit the run out. `onRound` is
 * awaited, so a caller can record each round (e.g. on chain) before the next starts.
 */
export async function fedTrainSites(
  sites: readonly FederatedSite[],
  options: FedOptions,
  onRound?: (report: RoundReport) => void | Promise<void>,
): Promise<{ model: LogisticModel; rounds: number }> {
  const { features, lambda = 3, rounds = 100, localSteps = 2, learningRate = 1 } = options;
  const encodeOptions: EncodeOptions = { oneHot: options.oneHot, missingIndicatorShare: options.missingIndicatorShare };
  const allSums = await Promise.all(sites.map((s) => s.featureSums()));
  const taking = sites.map((site, i) => ({ site, sums: allSums[i]! })).filter((s) => s.sums.rows > 0);
  if (taking.length === 0) throw new Error('fedTrain: no site has rows');
  const layout = layoutFromSums(features, taking.map((s) => s.sums), encodeOptions);
  const encoder = encoderFromSums(layout, await Promise.all(taking.map((s) => s.site.encodedSums(layout))));
  const total = taking.reduce((n, s) => n + s.sums.rows, 0);
  const participants = taking.map((s) => ({ name: s.site.name, rows: s.sums.rows }));

  let global = new Float64Array(encoder.columns.length + 1);
  for (let round = 1; round <= rounds; round++) {
    const start = global;
    const updates = await Promise.all(
      taking.map((s) => s.site.localUpdate(encoder, start, { penaltyShare: lambda * (s.sums.rows / total), steps: localSteps, learningRate })),
    );
    const next = new Float64Array(global.length);
    updates.forEach((updated, i) => {
      if (updated.length !== next.length) throw new Error(`fedTrain: site ${taking[i]!.site.name} sent ${updated.length} coefficients, expected ${next.length}`);
      const weight = taking[i]!.sums.rows / total;
      for (let j = 0; j < next.length; j++) next[j]! += weight * updated[j]!;
    });
    global = next;
    if (onRound) await onRound({ round, modelHash: hashModel(modelOf(encoder, global, lambda)), sites: participants });
  }
  return { model: modelOf(encoder, global, lambda), rounds };
}

/** Trains the model by federated averaging over sites whose rows are in memory (see fedTrainSites). */
export async function fedTrain(
  sites: readonly Site[],
  options: FedOptions,
  onRound?: (report: RoundReport) => void | Promise<void>,
): Promise<{ model: LogisticModel; rounds: number }> {
  if (sites.length === 0) throw new Error('fedTrain: no sites');
  return fedTrainSites(sites.map(localSite), options, onRound);
}

function modelOf(encoder: Encoder, beta: Float64Array, lambda: number): LogisticModel {
  return { encoder, lambda, intercept: beta[0]!, coefficients: Array.from(beta.subarray(1)) };
}
