/**
 * Differential privacy of a research study's releases (issue 16, point 5): how much Gaussian noise a
 * site adds to each round's vector so that the whole study, every round together, is (ε, δ)-DP for
 * the study's ε and δ — with respect to adding or removing one patient at one site.
 *
 * Accounting, in zero-concentrated DP (Bun & Steinke, "Concentrated Differential Privacy:
 * Simplifications, Extensions, and Lower Bounds", TCC 2016, https://arxiv.org/abs/1605.02065):
 * - Gaussian mechanism (Prop. 1.6): a release with L2 sensitivity Δ and noise N(0, s²) per
 *   coordinate is ρ-zCDP with ρ = Δ² / (2 s²).
 * - Composition (Lemma 2.3): ρ's add up, over the parts of one vector and over rounds.
 * - Conversion (Prop. 1.3): ρ-zCDP implies (ρ + 2·√(ρ·ln(1/δ)), δ)-DP for every δ > 0.
 *
 * One round's vector from one site is [Σ clipped per-patient gradient | Σ residuals of the site's
 * intercept group | row count of the group]. A patient's clipped contribution to the first two parts
 * has L2 norm ≤ clip, and to the count exactly 1. Noise std σ·clip on the first two parts and σ on the
 * count gives ρ_round = clip²/(2σ²clip²) + 1/(2σ²) = 1/σ², so T rounds give ρ = T/σ². The study's
 * (ε, δ) fixes the largest ρ allowed, ρ* = (√(ln(1/δ) + ε) − √(ln(1/δ)))² (the inverse of the
 * conversion above), and σ = √(T/ρ*). Each site adds the full σ itself, so its own release is
 * private even if secure aggregation failed or the other sites colluded (the sum then carries
 * √sites·σ: more noise than a trusted aggregator would need, the price of not trusting one).
 *
 * What the study does not cover: the final per-site evaluation (held-out AUC, calibration, counts)
 * is released without noise; and noise is drawn in floating point (Mironov, CCS 2012, shows that
 * textbook floating-point Laplace sampling leaks low-order bits; a discrete Gaussian, Canonne, Kamath
 * & Steinke 2020, would close that gap).
 */
import { normalDraw } from '../../random.js';

/** A uniform source in [0, 1): tests inject a seeded one (src/random.ts seededRandom). */
export type Uniform = () => number;

/** The largest ρ whose (ε, δ) conversion stays within ε: √ρ* = √(ln(1/δ) + ε) − √(ln(1/δ)). */
export function rhoForEpsilon(epsilon: number, delta: number): number {
  if (!(epsilon > 0) || !(delta > 0 && delta < 1)) throw new Error('rhoForEpsilon: need ε > 0 and 0 < δ < 1');
  const l = Math.log(1 / delta);
  const root = Math.sqrt(l + epsilon) - Math.sqrt(l);
  return root * root;
}

/** ε of ρ-zCDP at δ (Bun & Steinke 2016, Prop. 1.3). */
export function epsilonForRho(rho: number, delta: number): number {
  if (rho <= 0) return 0;
  return rho + 2 * Math.sqrt(rho * Math.log(1 / delta));
}

export interface StudyPrivacy {
  epsilon: number;
  delta: number;
  /** Per-patient L2 clipping norm. */
  clip: number;
  rounds: number;
}

/** What a study's privacy parameters mean for each round. */
export interface PrivacyPlan {
  /** Total ρ of the study (zCDP). */
  rho: number;
  /** ρ of one round: 1/σ². */
  rhoPerRound: number;
  /** Noise multiplier: std of the count noise; the gradient parts get σ·clip. */
  sigma: number;
  /** Std of the noise on each gradient coordinate: σ·clip. */
  gradientNoise: number;
}

/** The noise that keeps `rounds` rounds within the study's (ε, δ). */
export function privacyPlan(p: StudyPrivacy): PrivacyPlan {
  if (!(p.clip > 0)) throw new Error('privacyPlan: clip must be > 0');
  if (!Number.isInteger(p.rounds) || p.rounds < 1) throw new Error('privacyPlan: rounds must be a whole number ≥ 1');
  const rho = rhoForEpsilon(p.epsilon, p.delta);
  const sigma = Math.sqrt(p.rounds / rho);
  return { rho, rhoPerRound: 1 / (sigma * sigma), sigma, gradientNoise: sigma * p.clip };
}

/** ε spent after `round` rounds (what the sponsor records when it opens the round on chain); equals the study's ε at the last round. */
export function epsilonSpentAfter(p: StudyPrivacy, round: number): number {
  if (round <= 0) return 0;
  const plan = privacyPlan(p);
  return Math.min(p.epsilon, epsilonForRho(Math.min(round, p.rounds) * plan.rhoPerRound, p.delta));
}

/**
 * Lower bounds on what a differencing attacker can learn about one patient from all T rounds of two
 * runs (with and without the patient), even knowing every other patient's data exactly.
 *
 * - Label (or any yes/no fact about the row): telling the patient's two possible contributions apart
 *   is a test between Gaussians whose means differ by ≤ 2·clip per round in units of σ·clip, so the
 *   best test's error, with both answers equally likely a priori, is ≥ Φ(−√T/σ) = Φ(−√ρ).
 * - Row: the subtraction attack of the review reads each coordinate of the patient's encoded row as
 *   (difference of the two runs' sums) / (the patient's residual scale, ≤ clip). The difference of
 *   two runs carries noise std √2·σ·clip per round; averaged over T rounds, √2·σ·clip/√T. So each
 *   recovered coordinate is off by ≥ 1 (half its public range [−1, 1]) with probability
 *   ≥ 2·Φ(−√T/(√2·σ)) = 2·Φ(−√(ρ/2)) — and a single round's subtraction with ≥ 2·Φ(−1/(√2·σ)).
 */
export function attackBounds(plan: PrivacyPlan, rounds: number): { labelError: number; rowErrorOneRound: number; rowErrorAllRounds: number } {
  const rho = rounds * plan.rhoPerRound;
  return {
    labelError: normalCdf(-Math.sqrt(rho)),
    rowErrorOneRound: 2 * normalCdf(-1 / (Math.SQRT2 * plan.sigma)),
    rowErrorAllRounds: 2 * normalCdf(-Math.sqrt(rho / 2)),
  };
}

/** Standard normal CDF (Abramowitz & Stegun 7.1.26 via erf, |error| < 1.5e-7). */
export function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** Uniform in [0, 1) from the platform's cryptographic generator (Web Crypto, also in Node ≥ 19): 53 random bits. */
export function cryptoUniform(): number {
  const words = new Uint32Array(2);
  globalThis.crypto.getRandomValues(words);
  return (words[0]! * 2 ** 21 + (words[1]! >>> 11)) / 2 ** 53;
}

/** Adds N(0, std²) to `values[from..to)` in place. */
export function addGaussianNoise(values: Float64Array, from: number, to: number, std: number, random: Uniform = cryptoUniform): void {
  for (let i = from; i < to; i++) values[i]! += normalDraw(random, 0, std);
}
