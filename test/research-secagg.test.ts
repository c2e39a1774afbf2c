/**
 * Secure aggregation (src/protocol/research/secagg, Bonawitz et al. CCS 2017): the sum is exact,
 * dropouts are recovered, too many dropouts fail plainly, the coordinator's view of one site is
 * uniform whatever its input, altered shares are caught, and a site never reveals both secrets of one
 * site. Every key and mask comes from a seeded random source, so each run sees the same numbers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chacha20 } from '@noble/ciphers/chacha';
import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils';
import type { Hex } from 'viem';
import {
  aggregate,
  encodeFixedPoint,
  decodeFixedPoint,
  MAX_ABS_VALUE,
  MAX_SITES,
  minimumThreshold,
  SecAggSite,
  type AdvertiseKeys,
  type EncryptedShare,
  type MaskedInput,
  type SecAggSession,
  type Unmasking,
} from '../src/protocol/research/secagg/index.js';
import { addInto } from '../src/protocol/research/secagg/fixed-point.js';
import { applyPairwiseMask, applySelfMask } from '../src/protocol/research/secagg/masks.js';
import { bytesToField, combineShares, fieldToBytes, splitSecret } from '../src/protocol/research/secagg/shamir.js';
import { fromHex } from '../src/protocol/research/secagg/keys.js';

/** A seeded byte source: the ChaCha20 keystream of sha256(seed), one fresh nonce per call. */
function seededBytes(seed: string): (n: number) => Uint8Array {
  const key = sha256(utf8ToBytes(seed));
  let calls = 0;
  return (n) => {
    const nonce = new Uint8Array(12);
    new DataView(nonce.buffer).setUint32(0, calls++, true);
    return chacha20(key, nonce, new Uint8Array(n));
  };
}

const sessionIdOf = (label: string): Hex => `0x${bytesToHex(sha256(utf8ToBytes(label)))}`;
const siteNames = (n: number) => Array.from({ length: n }, (_, i) => `site-${String.fromCharCode(97 + i)}`);

function sessionOf(n: number, length: number, label = 'round', threshold = minimumThreshold(n)): SecAggSession {
  return { sessionId: sessionIdOf(label), sites: siteNames(n), threshold, length };
}

interface Round {
  adverts: AdvertiseKeys[];
  shares: EncryptedShare[];
  masked: MaskedInput[];
  unmaskings: Unmasking[];
  sites: SecAggSite[];
}

/**
 * One whole round as a coordinator relays it. `dropAfterKeys` sites advertise but never share;
 * `dropAfterShares` share their keys and then vanish before sending a masked input.
 */
function runRound(session: SecAggSession, inputs: number[][], seed: string, drops: { afterKeys?: string[]; afterShares?: string[] } = {}): Round {
  const sites = session.sites.map((name) => new SecAggSite(session, name, seededBytes(`${seed}/${name}`)));
  const adverts = sites.map((s) => s.advertise());
  const sharing = sites.filter((s) => !drops.afterKeys?.includes(s.site));
  const shares = sharing.flatMap((s) => s.shareKeys(adverts));
  const masking = sharing.filter((s) => !drops.afterShares?.includes(s.site));
  const masked = masking.map((s) => s.maskInput(inputs[session.sites.indexOf(s.site)]!, shares.filter((m) => m.to === s.site)));
  const survivors = masked.map((m) => m.site);
  const dropped = sharing.map((s) => s.site).filter((s) => !survivors.includes(s));
  const unmaskings = masking.map((s) => s.unmask(survivors, dropped));
  return { adverts, shares, masked, unmaskings, sites };
}

const randomInputs = (n: number, length: number, seed: string): number[][] => {
  const bytes = seededBytes(seed)(8 * n * length);
  const view = new DataView(bytes.buffer);
  return Array.from({ length: n }, (_, i) =>
    Array.from({ length }, (_, j) => (view.getUint32(8 * (i * length + j), true) / 2 ** 32 - 0.5) * 2000),
  );
};

function assertSum(actual: number[], inputs: number[][], sites: number[]) {
  const expected = inputs[0]!.map((_, j) => sites.reduce((s, i) => s + inputs[i]![j]!, 0));
  // One fixed-point rounding (≤ 2^-33) per site, plus the floating-point sum of the expectation.
  actual.forEach((value, j) => assert.ok(Math.abs(value - expected[j]!) <= sites.length * 2 ** -33 + 1e-12 * Math.abs(expected[j]!), `value ${j}: ${value} ≠ ${expected[j]}`));
}

test('the unmasked sum is exact within the fixed-point resolution for 3, 4 and 5 sites', () => {
  for (const n of [3, 4, 5]) {
    const session = sessionOf(n, 12, `exact-${n}`);
    const inputs = randomInputs(n, 12, `inputs-${n}`);
    const round = runRound(session, inputs, `exact-${n}`);
    assertSum(aggregate(session, round.adverts, round.masked, round.unmaskings), inputs, [...Array(n).keys()]);
  }
});

test('a site that drops after sharing its keys has its masks cancelled: the survivors\' sum is exact', () => {
  const session = sessionOf(5, 8, 'dropout');
  const inputs = randomInputs(5, 8, 'dropout');
  const one = runRound(session, inputs, 'dropout-1', { afterShares: ['site-c'] });
  assert.deepEqual(one.unmaskings[0]!.dropped, ['site-c']);
  assertSum(aggregate(session, one.adverts, one.masked, one.unmaskings), inputs, [0, 1, 3, 4]);
  // site-c's masked input arrives after all, too late: with its key rebuilt, the coordinator strips its
  // pairwise masks, and its self mask still hides the input (no survivor revealed a share of that seed).
  const late = one.sites[2]!.maskInput(inputs[2]!, one.shares.filter((m) => m.to === 'site-c')).values.map(BigInt);
  const keyShares = one.unmaskings.map((u) => ({ x: session.sites.indexOf(u.site) + 1, y: bytesToField(fromHex(u.maskKeyShares[0]!.share)) }));
  const key = fieldToBytes(combineShares(keyShares, session.threshold));
  for (const v of ['site-a', 'site-b', 'site-d', 'site-e']) applyPairwiseMask(session, late, 'site-c', v, key, fromHex(one.adverts.find((a) => a.site === v)!.maskPublicKey), -1);
  const plain = encodeFixedPoint(inputs[2]!);
  assert.ok(late.every((value, i) => value !== plain[i]), 'a late masked input stays masked');
  // Two of five (n − t with t = 3): one after advertising, one after sharing.
  const two = runRound(session, inputs, 'dropout-2', { afterKeys: ['site-a'], afterShares: ['site-e'] });
  assertSum(aggregate(session, two.adverts, two.masked, two.unmaskings), inputs, [1, 2, 3]);
  // A survivor that goes silent in phase 3 is fine too while `threshold` unmaskings remain.
  assertSum(aggregate(session, two.adverts, two.masked, two.unmaskings.slice(0, 3)), inputs, [1, 2, 3]);
});

test('dropping below the threshold fails with a plain error, never a wrong sum', () => {
  const session = sessionOf(3, 4, 'below');
  const inputs = randomInputs(3, 4, 'below');
  const sites = session.sites.map((name) => new SecAggSite(session, name, seededBytes(`below/${name}`)));
  const adverts = sites.map((s) => s.advertise());
  assert.throws(() => sites[0]!.shareKeys(adverts.slice(0, 1)), /only 1 of 3 sites advertised keys; the threshold is 2/);
  const shares = sites.flatMap((s) => s.shareKeys(adverts));
  const masked = sites[0]!.maskInput(inputs[0]!, shares.filter((m) => m.to === 'site-a'));
  // site-b and site-c vanish after sharing: one survivor, threshold two.
  assert.throws(() => sites[0]!.unmask(['site-a'], ['site-b', 'site-c']), /only 1 survivors; the threshold is 2/);
  const round = runRound(session, inputs, 'below-2');
  assert.throws(() => aggregate(session, round.adverts, round.masked, round.unmaskings.slice(0, 1)), /only 1 sites sent their unmasking shares; the threshold is 2/);
  assert.throws(() => aggregate(session, adverts, [masked], []), /only 0 sites sent their unmasking shares/);
  const lonely = new SecAggSite(session, 'site-c', seededBytes('lonely'));
  lonely.shareKeys([adverts[0]!, lonely.advertise()]);
  assert.throws(() => lonely.maskInput(inputs[2]!, []), /only 1 of 3 sites shared their keys; the threshold is 2/);
});

test('sessions: at least 3 sites, a strict-majority threshold, sorted distinct sites, a bounded length', () => {
  const ok = sessionOf(4, 3);
  assert.throws(() => new SecAggSite({ ...ok, sites: ['a', 'b'], threshold: 2 }, 'a'), /at least 3 sites/);
  assert.throws(() => new SecAggSite({ ...ok, threshold: 2 }, 'site-a'), /n\/2 < t ≤ n \(3…4 for 4 sites\), not 2/);
  assert.throws(() => new SecAggSite({ ...ok, threshold: 5 }, 'site-a'), /not 5/);
  assert.throws(() => new SecAggSite({ ...ok, sites: ['b', 'a', 'c'], threshold: 2 }, 'a'), /sorted/);
  assert.throws(() => new SecAggSite({ ...ok, sites: ['a', 'a', 'c'], threshold: 2 }, 'a'), /listed twice/);
  assert.throws(() => new SecAggSite({ ...ok, sites: siteNames(MAX_SITES + 1).map((s, i) => `${String(i).padStart(3, '0')}${s}`), threshold: 60 }, '000site-a'), /at most 64 sites/);
  assert.throws(() => new SecAggSite({ ...ok, length: 0 }, 'site-a'), /length/);
  assert.throws(() => new SecAggSite({ ...ok, sessionId: '0x1234' }, 'site-a'), /session id/);
  assert.throws(() => new SecAggSite(ok, 'site-z'), /not one of this session's sites/);
});

test('fixed point: 64 sites at the range limit sum without wrapping; out-of-range values are refused', () => {
  const extremes = [MAX_ABS_VALUE, -MAX_ABS_VALUE, 2 ** -32, -(2 ** -32), 1234.5678];
  const sum = new Array<bigint>(extremes.length).fill(0n);
  for (let site = 0; site < MAX_SITES; site++) addInto(sum, encodeFixedPoint(extremes));
  const decoded = decodeFixedPoint(sum);
  assert.deepEqual(decoded.slice(0, 4), [MAX_SITES * MAX_ABS_VALUE, -MAX_SITES * MAX_ABS_VALUE, MAX_SITES * 2 ** -32, -MAX_SITES * 2 ** -32]);
  assert.ok(Math.abs(decoded[4]! - MAX_SITES * 1234.5678) <= MAX_SITES * 2 ** -33, `${decoded[4]}`);
  assert.throws(() => encodeFixedPoint([MAX_ABS_VALUE * 1.01]), /outside ±16777216/);
  assert.throws(() => encodeFixedPoint([Number.NaN]), /not a finite number/);
  const session = sessionOf(3, 2, 'range');
  const round = (input: number[]) => {
    const site = new SecAggSite(session, 'site-a', seededBytes('range'));
    const others = ['site-b', 'site-c'].map((name) => new SecAggSite(session, name, seededBytes(name)));
    const adverts = [site.advertise(), ...others.map((o) => o.advertise())];
    site.shareKeys(adverts);
    return site.maskInput(input, others.flatMap((o) => o.shareKeys(adverts)).filter((m) => m.to === 'site-a'));
  };
  assert.throws(() => round([1]), /the input has 1 values, not 2/);
  assert.throws(() => round([1, Infinity]), /value 1 is not a finite number/);
});

// ---- the coordinator's view of one site ----

/** Pearson's χ² of the top 4 bits (16 equal bins) against the uniform distribution. */
function chiSquareTopBits(values: bigint[]): number {
  const counts = new Array<number>(16).fill(0);
  for (const v of values) counts[Number(v >> 60n)]!++;
  const expected = values.length / 16;
  return counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
}
/** χ² with 15 degrees of freedom exceeds this with probability 0.001. */
const CHI2_15_P001 = 37.7;

function correlation(xs: number[], ys: number[]): number {
  const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  xs.forEach((x, i) => {
    sxy += (x - mx) * (ys[i]! - my);
    sxx += (x - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  });
  return sxy / Math.sqrt(sxx * syy);
}

/** Two-sample Kolmogorov–Smirnov statistic: the largest gap between the two empirical distributions. */
function kolmogorovSmirnov(a: number[], b: number[]): number {
  const sa = [...a].sort((x, y) => x - y);
  const sb = [...b].sort((x, y) => x - y);
  let i = 0;
  let j = 0;
  let gap = 0;
  while (i < sa.length && j < sb.length) {
    const x = Math.min(sa[i]!, sb[j]!);
    while (i < sa.length && sa[i]! <= x) i++;
    while (j < sb.length && sb[j]! <= x) j++;
    gap = Math.max(gap, Math.abs(i / sa.length - j / sb.length));
  }
  return gap;
}
/** The KS critical value at α = 0.001 for two samples of n each: 1.95 · √(2/n). */
const ksCritical = (n: number) => 1.95 * Math.sqrt(2 / n);

const VIEW_ROUNDS = 16;
const VIEW_LENGTH = 120;

/**
 * Runs `VIEW_ROUNDS` full rounds in which site-a's true update is `update` every time, and returns
 * what the coordinator holds of site-a: its masked vectors, and the same vectors after the
 * coordinator removed site-a's self mask with the seed revealed in phase 3.
 */
function coordinatorViews(update: number[], label: string) {
  const masked: bigint[] = [];
  const withoutSelfMask: bigint[] = [];
  for (let r = 0; r < VIEW_ROUNDS; r++) {
    const session = sessionOf(3, VIEW_LENGTH, `${label}-${r}`);
    const inputs = [update, ...randomInputs(2, VIEW_LENGTH, `${label}-${r}`)];
    const round = runRound(session, inputs, `${label}-${r}`);
    assertSum(aggregate(session, round.adverts, round.masked, round.unmaskings), inputs, [0, 1, 2]);
    const y = round.masked[0]!.values.map(BigInt);
    masked.push(...y);
    const seedShares = round.unmaskings.map((u, i) => ({ x: i + 1, y: bytesToField(fromHex(u.selfMaskShares[0]!.share)) }));
    const residual = [...y];
    applySelfMask(session, residual, 'site-a', fieldToBytes(combineShares(seedShares, session.threshold)), -1);
    withoutSelfMask.push(...residual);
  }
  return { masked, withoutSelfMask };
}

test("the coordinator's view of one site is uniform and uncorrelated with its update, even after phase 3", (t) => {
  const updateA = Array.from({ length: VIEW_LENGTH }, (_, j) => (j - VIEW_LENGTH / 2) * 250);
  const updateB = Array.from({ length: VIEW_LENGTH }, (_, j) => (j % 2 === 0 ? 1 : -1) * 0.001 * j);
  const a = coordinatorViews(updateA, 'view-a');
  const b = coordinatorViews(updateB, 'view-b');
  const truth = Array.from({ length: VIEW_ROUNDS }, () => updateA).flat();
  const truthB = Array.from({ length: VIEW_ROUNDS }, () => updateB).flat();
  const n = truth.length;
  const views = [['masked', a.masked, truth], ['masked, self mask removed', a.withoutSelfMask, truth], ['update B masked', b.masked, truthB]] as const;
  for (const [name, view, update] of views) {
    const chi2 = chiSquareTopBits(view);
    const r = correlation(update, decodeFixedPoint(view));
    t.diagnostic(`${name}: χ²(15) of the top 4 bits ${chi2.toFixed(1)}, correlation with the update ${r.toFixed(4)} (n = ${n})`);
    assert.ok(chi2 < CHI2_15_P001, `${name}: χ² of the top bits ${chi2.toFixed(1)} ≥ ${CHI2_15_P001}`);
    assert.ok(Math.abs(r) < 4 / Math.sqrt(n), `${name}: correlation with the true update ${r.toFixed(3)}`);
  }
  const ks = kolmogorovSmirnov(decodeFixedPoint(a.masked), decodeFixedPoint(b.masked));
  assert.ok(ks < ksCritical(n), `two updates' masked vectors differ in distribution: KS ${ks.toFixed(4)} ≥ ${ksCritical(n).toFixed(4)}`);
  const ksResidual = kolmogorovSmirnov(decodeFixedPoint(a.withoutSelfMask), decodeFixedPoint(b.withoutSelfMask));
  t.diagnostic(`KS between two updates' masked vectors ${ks.toFixed(4)}, after phase 3 ${ksResidual.toFixed(4)}; critical (α = 0.001) ${ksCritical(n).toFixed(4)}`);
  assert.ok(ksResidual < ksCritical(n), `after phase 3: KS ${ksResidual.toFixed(4)}`);

  // The same statistics have the power to see an unmasked update: they reject it plainly.
  const plainA = truth.flatMap((x) => encodeFixedPoint([x]));
  const plainB = truthB.flatMap((x) => encodeFixedPoint([x]));
  assert.ok(chiSquareTopBits(plainA) > 10 * CHI2_15_P001, 'χ² sees an unmasked update');
  assert.ok(correlation(truth, decodeFixedPoint(plainA)) > 0.999, 'correlation sees an unmasked update');
  const ksPlain = kolmogorovSmirnov(decodeFixedPoint(plainA), decodeFixedPoint(plainB));
  t.diagnostic(`unmasked control: χ² ${chiSquareTopBits(plainA).toFixed(0)}, KS ${ksPlain.toFixed(3)}`);
  assert.ok(ksPlain > 5 * ksCritical(n), `KS tells two unmasked updates apart: ${ksPlain}`);
});

// ---- altered messages and refusals ----

/** Three sites through phase 1; returns them, their adverts and the shares addressed to site-a. */
function throughPhaseOne(label: string) {
  const session = sessionOf(3, 4, label);
  const sites = session.sites.map((name) => new SecAggSite(session, name, seededBytes(`${label}/${name}`)));
  const adverts = sites.map((s) => s.advertise());
  const shares = sites.flatMap((s) => s.shareKeys(adverts));
  return { session, sites, adverts, shares, toA: shares.filter((m) => m.to === 'site-a') };
}

test('altered, forged, re-addressed or replayed shares fail authentication at their recipient', () => {
  const { sites, toA } = throughPhaseOne('tamper');
  const site = sites[0]!;
  const input = [1, 2, 3, 4];
  const flip = (hex: Hex, at: number): Hex => {
    const bytes = fromHex(hex);
    bytes[at]! ^= 0x01;
    return `0x${bytesToHex(bytes)}`;
  };
  const [fromB, fromC] = toA as [EncryptedShare, EncryptedShare];
  assert.throws(() => site.maskInput(input, [{ ...fromB, ciphertext: flip(fromB.ciphertext, 5) }, fromC]), /share from site-b to site-a failed authentication/);
  assert.throws(() => site.maskInput(input, [{ ...fromB, nonce: flip(fromB.nonce, 0) }, fromC]), /failed authentication/);
  // The coordinator re-labels c's share as b's: it was not encrypted under b's key.
  assert.throws(() => site.maskInput(input, [{ ...fromC, from: 'site-b' }]), /share from site-b to site-a failed authentication/);
  // A share the coordinator made up itself, with its own key.
  const forged = { ...fromB, ciphertext: `0x${bytesToHex(chacha20(sha256(utf8ToBytes('coordinator')), new Uint8Array(12), new Uint8Array(80)))}` as Hex };
  assert.throws(() => site.maskInput(input, [forged, fromC]), /share from site-b to site-a failed authentication/);
  // A share of another session, its session id rewritten to this one (the id is authenticated data).
  const other = throughPhaseOne('tamper-other');
  const replayed = { ...other.toA[0]!, sessionId: fromB.sessionId };
  assert.throws(() => site.maskInput(input, [replayed, fromC]), /failed authentication/);
  assert.throws(() => site.maskInput(input, [other.toA[0]!, fromC]), /belongs to another session/);
  assert.throws(() => site.maskInput(input, [{ ...fromB, to: 'site-c' }, fromC]), /addressed to site-c, not to site-a/);
  assert.throws(() => site.maskInput(input, [fromB, fromB]), /two shares from site-b/);
  assert.throws(() => site.maskInput(input, [{ ...fromB, from: 'site-x' }]), /unknown site \(site-x\)/);
  // None of the failures consumed the phase: the genuine shares still work.
  assert.equal(site.maskInput(input, toA).values.length, 4);
});

test('an altered revealed share is caught by the coordinator against the phase-0 key or commitment', () => {
  const session = sessionOf(4, 3, 'reveal');
  const inputs = randomInputs(4, 3, 'reveal');
  const round = runRound(session, inputs, 'reveal', { afterShares: ['site-d'] });
  // The offset moves the rebuilt secret in its middle bits: x25519 clamps the lowest three bits of a
  // key away, so a change confined to them would rebuild a different number but the same key and masks.
  const alter = (u: Unmasking, field: 'selfMaskShares' | 'maskKeyShares'): Unmasking => ({
    ...u,
    [field]: u[field].map((s, i) => (i === 0 ? { ...s, share: `0x${bytesToHex(fieldToBytes(bytesToField(fromHex(s.share)) + (1n << 128n)))}` } : s)),
  });
  const [u0, u1, u2] = round.unmaskings as [Unmasking, Unmasking, Unmasking];
  // Exactly `threshold` (3) unmaskings: the rebuilt secret is wrong, and the check against phase 0 says so.
  assert.throws(() => aggregate(session, round.adverts, round.masked, [alter(u0, 'selfMaskShares'), u1, u2]), /site-a's self-mask seed .* does not match its commitment/);
  assert.throws(() => aggregate(session, round.adverts, round.masked, [alter(u0, 'maskKeyShares'), u1, u2]), /site-d's mask key .* does not match its public key/);
  assert.throws(() => aggregate(session, round.adverts, round.masked, [{ ...u0, maskKeyShares: [] }, u1, u2]), /one key share per dropped site/);
  assert.throws(() => aggregate(session, round.adverts, round.masked, [u0, { ...u1, dropped: [] }, u2]), /disagree on which sites dropped/);
  assert.throws(() => aggregate(session, round.adverts, round.masked, [u0, { ...u1, survivors: ['site-a', 'site-b'] }, u2]), /site-b's unmasking names other survivors/);
  assertSum(aggregate(session, round.adverts, round.masked, round.unmaskings), inputs, [0, 1, 2]);
});

test('a site never reveals both the self-mask share and the key share of one site, nor answers a phase twice differently', () => {
  const { sites, toA } = throughPhaseOne('refuse');
  const site = sites[0]!;
  assert.throws(() => site.unmask(['site-a', 'site-b', 'site-c'], []), /phase 3 before phase 2/);
  site.maskInput([1, 2, 3, 4], toA);
  assert.throws(() => site.unmask(['site-a', 'site-b', 'site-c'], ['site-b']), /refusing to reveal both the self-mask share and the key share of site-b/);
  assert.throws(() => site.unmask(['site-a', 'site-b'], []), /site-c shared keys but is listed neither as survivor nor as dropped/);
  assert.throws(() => site.unmask(['site-b', 'site-c'], ['site-a']), /site-a is not listed among the survivors/);
  const first = site.unmask(['site-a', 'site-b', 'site-c'], []);
  assert.deepEqual(first.dropped, []);
  assert.deepEqual(site.unmask(['site-a', 'site-b', 'site-c'], []), first, 'a retry gets the same answer');
  // Having revealed b's self-mask share, a later claim that b dropped must not get b's key share.
  assert.throws(() => site.unmask(['site-a', 'site-c'], ['site-b']), /unmask already ran in this round with other arguments/);
  assert.throws(() => site.maskInput([9, 9, 9, 9], toA), /maskInput already ran/);
});

test('every incoming message is checked: session, site, duplicates, lengths, own keys', () => {
  const { session, sites, adverts, shares } = throughPhaseOne('validate');
  const fresh = new SecAggSite(session, 'site-a', seededBytes('validate/site-a'));
  const mine = fresh.advertise();
  const [, b, c] = adverts as [AdvertiseKeys, AdvertiseKeys, AdvertiseKeys];
  assert.throws(() => fresh.shareKeys([mine, { ...b, sessionId: sessionIdOf('elsewhere') }, c]), /advertised keys belongs to another session/);
  assert.throws(() => fresh.shareKeys([mine, { ...b, site: 'site-z' }, c]), /unknown site \(site-z\)/);
  assert.throws(() => fresh.shareKeys([mine, b, b]), /two advertised keys from site-b/);
  assert.throws(() => fresh.shareKeys([mine, { ...b, maskPublicKey: '0x1234' }, c]), /site-b's mask public key is 2 bytes, not 32/);
  assert.throws(() => fresh.shareKeys([b, c]), /do not include site-a's own keys/);
  assert.throws(() => fresh.shareKeys([{ ...mine, maskPublicKey: c.maskPublicKey }, b, c]), /do not include site-a's own keys/);
  // A low-order public key (all zeros) would make the shared secret zero: refused.
  const zero = new SecAggSite(session, 'site-a', seededBytes('zero'));
  assert.throws(() => zero.shareKeys([zero.advertise(), { ...b, cipherPublicKey: `0x${'00'.repeat(32)}` }, c]));

  const masked = sites.map((s) => s.maskInput([1, 2, 3, 4], shares.filter((m) => m.to === s.site)));
  const unmaskings = sites.map((s) => s.unmask(session.sites, []));
  const [m0, m1, m2] = masked as [MaskedInput, MaskedInput, MaskedInput];
  assert.throws(() => aggregate(session, adverts, [m0, m0, m2], unmaskings), /two masked inputs from site-a/);
  assert.throws(() => aggregate(session, adverts, [m0, { ...m1, values: m1.values.slice(1) }, m2], unmaskings), /site-b's masked input does not have 4 values/);
  assert.throws(() => aggregate(session, adverts, [m0, { ...m1, values: [...m1.values.slice(1), '18446744073709551616'] }, m2], unmaskings), /not an integer mod 2\^64/);
  assert.throws(() => aggregate(session, adverts, [m0, { ...m1, values: [...m1.values.slice(1), '-1'] }, m2], unmaskings), /not an integer mod 2\^64/);
  assert.throws(() => aggregate(session, adverts, masked, [unmaskings[0]!, unmaskings[0]!]), /two unmaskings from site-a/);
  assert.throws(() => aggregate({ ...session, threshold: 1 }, adverts, masked, unmaskings), /threshold/);
  assert.deepEqual(aggregate(session, adverts, masked, unmaskings), [3, 6, 9, 12]);
});

test('keys and masks are bound to the session: the same random source in another round masks differently', () => {
  const masks = (label: string) => {
    const session = sessionOf(3, 16, label);
    const round = runRound(session, [new Array(16).fill(0), new Array(16).fill(0), new Array(16).fill(0)], 'same-seed');
    return round.masked[0]!.values;
  };
  const first = masks('round-1');
  assert.deepEqual(masks('round-1'), first, 'the seeded source makes a round reproducible');
  const second = masks('round-2');
  assert.ok(first.every((value, i) => value !== second[i]), 'no masked value repeats across sessions');
});

test('Shamir shares: any t of n rebuild the secret; a share off the polynomial is named when more than t arrive', () => {
  const random = seededBytes('shamir');
  const secret = bytesToField(random(31));
  const shares = splitSecret(secret, 3, 5, random);
  for (const pick of [[0, 1, 2], [2, 3, 4], [4, 0, 3]]) assert.equal(combineShares(pick.map((i) => shares[i]!), 3), secret);
  assert.notEqual(combineShares(shares.slice(0, 2), 2), secret, 't − 1 shares do not determine it');
  const altered = shares.map((s, i) => (i === 4 ? { ...s, y: s.y + 1n } : s));
  assert.throws(() => combineShares(altered, 3), /the share at x = 5 does not match the others/);
  assert.throws(() => combineShares(shares.slice(0, 2), 3), /2 shares, fewer than the threshold 3/);
});
