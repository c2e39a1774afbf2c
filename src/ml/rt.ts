/**
 * The instantaneous reproduction number R(t) by the method of Cori, Ferguson, Fraser & Cauchemez
 * (2013), "A new framework and software to estimate time-varying reproduction numbers during
 * epidemics", Am J Epidemiol 178:1505 — what EpiEstim's `estimate_R(method = "non_parametric_si")`
 * computes.
 *
 * Cases on day t are Poisson with mean R·Λ_t, where Λ_t = Σ_k w_k·I_{t−k} is the infectiousness
 * of everyone infected before t, weighted by the serial interval distribution w. With R constant
 * over a window of τ days ending at t and a Gamma(shape a, scale b) prior, the posterior of R is
 * Gamma(shape a + Σ I_s, scale 1/(1/b + Σ Λ_s)), sums over the window. Defaults as EpiEstim: τ = 7,
 * a = 1, b = 5 (prior mean 5, sd 5: deliberately high, so R < 1 is claimed only on evidence).
 *
 * R(t) > 1: the epidemic grows; < 1: it declines. An indicator beside the aberration alarms
 * (src/ml/aberration.ts), for daily incidence with a daily serial interval.
 */

export interface RtOptions {
  /** Window length in days (default 7). */
  window?: number;
  /** Gamma prior shape a (default 1) and scale b (default 5). */
  priorShape?: number;
  priorScale?: number;
}

export interface RtEstimate {
  /** First and last day of the window, 0-based indices into the incidence. */
  start: number;
  end: number;
  mean: number;
  sd: number;
  /** 95 % credible interval: 2.5 % and 97.5 % posterior quantiles. */
  lower: number;
  upper: number;
  /** Cases in the window; Cori et al. advise ≥ 12 for a posterior CV under 0.3. */
  cases: number;
}

/** Λ_t = Σ_{k=1}^{t} w_k·I_{t−k}, the total infectiousness on each day (Λ_0 = 0). */
export function totalInfectiousness(incidence: readonly number[], serialInterval: readonly number[]): number[] {
  return incidence.map((_, t) => {
    let lambda = 0;
    for (let k = 1; k <= t && k < serialInterval.length; k++) lambda += (serialInterval[k] as number) * (incidence[t - k] as number);
    return lambda;
  });
}

/** R over sliding windows [start, start + τ − 1], start = 1 … T − τ (EpiEstim's default windows). */
export function estimateRt(incidence: readonly number[], serialInterval: readonly number[], options: RtOptions = {}): RtEstimate[] {
  const { window = 7, priorShape = 1, priorScale = 5 } = options;
  // w_0 must be 0: a case cannot infect someone with the same onset day in this model (EpiEstim checks the same).
  if ((serialInterval[0] ?? 0) !== 0) throw new Error('serial interval must put no weight on day 0');
  const total = serialInterval.reduce((a, b) => a + b, 0);
  if (Math.abs(total - 1) > 0.01) throw new Error(`serial interval sums to ${total}, not 1`);
  const lambda = totalInfectiousness(incidence, serialInterval);
  const estimates: RtEstimate[] = [];
  // Day 0 has no infectors before it, so windows start at day 1.
  for (let start = 1; start + window - 1 < incidence.length; start++) {
    const end = start + window - 1;
    let cases = 0;
    let infectiousness = 0;
    for (let s = start; s <= end; s++) {
      cases += incidence[s] as number;
      infectiousness += lambda[s] as number;
    }
    const shape = priorShape + cases;
    const scale = 1 / (1 / priorScale + infectiousness);
    estimates.push({
      start,
      end,
      mean: shape * scale,
      sd: Math.sqrt(shape) * scale,
      lower: gammaQuantile(0.025, shape, scale),
      upper: gammaQuantile(0.975, shape, scale),
      cases,
    });
  }
  return estimates;
}

/** The p-quantile of Gamma(shape, scale), by bisection on the regularized incomplete gamma function. */
export function gammaQuantile(p: number, shape: number, scale: number): number {
  let lo = 0;
  let hi = Math.max(1, shape) * 10;
  while (lowerRegularizedGamma(shape, hi) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (lowerRegularizedGamma(shape, mid) < p) lo = mid;
    else hi = mid;
  }
  return ((lo + hi) / 2) * scale;
}

/** P(a, x) = γ(a, x)/Γ(a): series below a + 1, Lentz's continued fraction above (Numerical Recipes §6.2). */
export function lowerRegularizedGamma(a: number, x: number): number {
  if (x <= 0) return 0;
  const logPrefix = a * Math.log(x) - x - logGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 1000 && Math.abs(term) > Math.abs(sum) * 1e-15; n++) {
      term *= x / (a + n);
      sum += term;
    }
    return sum * Math.exp(logPrefix);
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return 1 - Math.exp(logPrefix) * h;
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; ~15 significant digits). */
function logGamma(x: number): number {
  const g = 7;
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let sum = c[0] as number;
  for (let i = 1; i < g + 2; i++) sum += (c[i] as number) / (z + i);
  const t = z + g + 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}
