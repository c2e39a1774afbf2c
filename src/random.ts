/**
 * The project's one seeded pseudo-random source: the same seed gives the same numbers on every
 * machine and Node version, so demo patients (and the data hashes they put on chain), fold
 * assignments and synthetic data sets can be reproduced exactly. mulberry32 (a 32-bit state, full
 * period 2^32) is plenty for shuffles and a few thousand draws per patient and needs no dependency;
 * it is not for anything secret.
 */

/** mulberry32 (Tommy Ettinger), uniform in [0, 1): https://gist.github.com/tommyettinger/46a874533244883189143505d203312c */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates shuffle in place. */
export function shuffleInPlace<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** A normal draw (Box–Muller), standard unless a mean and deviation are given; 1 - random() is in (0, 1], so the logarithm is finite. */
export function normalDraw(random: () => number, mean = 0, sd = 1): number {
  const u = 1 - random();
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** A seeded source with the draws a simulation needs, and independent named sub-streams. */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max], both included. */
  int(min: number, max: number): number;
  /** Uniform in [min, max). */
  uniform(min: number, max: number): number;
  /** Normal (Gaussian) with the given mean and standard deviation. */
  normal(mean: number, sd: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** One element, uniformly. */
  pick<T>(items: readonly T[]): T;
  /**
   * An independent stream named by `label`, derived from this stream's seed (not its position), so
   * adding draws to one part of a generator does not change what another part draws.
   */
  fork(label: string | number): Random;
}

/** A Random seeded by a number or a string (both are hashed to 32 bits, as text). */
export function createRandom(seed: number | string): Random {
  const name = String(seed);
  const next = seededRandom(hashSeed(name));
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    uniform: (min, max) => min + next() * (max - min),
    normal: (mean, sd) => normalDraw(next, mean, sd),
    chance: (p) => next() < p,
    pick: (items) => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[Math.floor(next() * items.length)]!;
    },
    fork: (label) => createRandom(`${name}/${label}`),
  };
}

/** FNV-1a over the UTF-16 code units, then a murmur3 finaliser so close seeds start far apart. */
export function hashSeed(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
