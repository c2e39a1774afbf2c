/**
 * Probabilities said the way patients understand them best: natural frequencies ("about 1 in 5
 * people") rather than percentages (Gigerenzer & Edwards, "Simple tools for understanding risks",
 * BMJ 2003;327:741, https://doi.org/10.1136/bmj.327.7417.741). Browser-safe.
 */

/** 0.2 → "about 1 in 5"; 0.62 → "about 6 in 10"; extremes said as such. */
export function inWords(p: number): string {
  if (!(p > 0.005)) return 'fewer than 1 in 100';
  if (p >= 0.995) return 'almost all';
  if (p >= 0.5) return `about ${Math.round(p * 10)} in 10`;
  // "1 in 41" reads as more exact than the estimate is: past 1 in 20, to the nearest 5 (then 10).
  const n = 1 / p;
  if (p >= 0.01) return `about 1 in ${n <= 20 ? Math.round(n) : n <= 50 ? Math.round(n / 5) * 5 : Math.round(n / 10) * 10}`;
  return 'about 1 in 100';
}

/** 0.234 → "23 %"; below 1 % one decimal. */
export function percent(p: number): string {
  const v = p * 100;
  return `${v < 1 && v > 0 ? v.toFixed(1) : Math.round(v)} %`;
}

/** The first letter upper-case, for a sentence that starts with inWords(). */
export const sentence = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
