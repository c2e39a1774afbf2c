/**
 * The study's privacy accounting (src/ml/research/privacy.ts): zCDP of the Gaussian rounds composed
 * and converted to (ε, δ) (Bun & Steinke 2016), the noise it implies, and the seeded/crypto noise.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addGaussianNoise, attackBounds, cryptoUniform, epsilonForRho, epsilonSpentAfter, normalCdf, privacyPlan, rhoForEpsilon } from '../src/ml/research/privacy.js';
import { seededRandom } from '../src/random.js';

const base = { epsilon: 1, delta: 1e-5, clip: 1, rounds: 10 };

test('ρ ↔ ε: the conversion of ρ* gives back the study ε, and a larger ρ would exceed it', () => {
  for (const [epsilon, delta] of [[0.1, 1e-6], [1, 1e-5], [8, 1e-3]] as const) {
    const rho = rhoForEpsilon(epsilon, delta);
    assert.ok(Math.abs(epsilonForRho(rho, delta) - epsilon) < 1e-9 * epsilon);
    assert.ok(epsilonForRho(rho * 1.01, delta) > epsilon);
  }
  // A hand check: ε = 1, δ = 1e-5 → √ρ = √(ln 1e5 + 1) − √(ln 1e5).
  const l = Math.log(1e5);
  assert.ok(Math.abs(rhoForEpsilon(1, 1e-5) - (Math.sqrt(l + 1) - Math.sqrt(l)) ** 2) < 1e-15);
  assert.throws(() => rhoForEpsilon(0, 1e-5), /ε > 0/);
});

test('σ grows as ε falls and as rounds grow; T rounds of ρ = 1/σ² compose to the study ρ', () => {
  const sigmas = [8, 4, 2, 1, 0.5, 0.25].map((epsilon) => privacyPlan({ ...base, epsilon }).sigma);
  for (let i = 1; i < sigmas.length; i++) assert.ok(sigmas[i]! > sigmas[i - 1]!, `σ at smaller ε: ${sigmas}`);
  assert.ok(privacyPlan({ ...base, rounds: 40 }).sigma > privacyPlan(base).sigma);
  const plan = privacyPlan(base);
  assert.ok(Math.abs(base.rounds * plan.rhoPerRound - plan.rho) < 1e-12);
  assert.equal(plan.gradientNoise, plan.sigma * base.clip);
  assert.equal(privacyPlan({ ...base, clip: 3 }).gradientNoise, 3 * plan.sigma);
});

test('ε spent over the rounds rises to the study ε and never past it; per-round increments add up', () => {
  let previous = 0;
  let increments = 0;
  for (let round = 1; round <= base.rounds; round++) {
    const spent = epsilonSpentAfter(base, round);
    assert.ok(spent > previous && spent <= base.epsilon + 1e-12, `round ${round}: ${spent}`);
    increments += spent - previous;
    previous = spent;
  }
  assert.ok(Math.abs(previous - base.epsilon) < 1e-9);
  assert.ok(Math.abs(increments - base.epsilon) < 1e-9);
  // zCDP composes better than adding per-round ε: 10 × ε(one round) is far above the study ε.
  assert.ok(base.rounds * epsilonSpentAfter(base, 1) > 2 * base.epsilon);
});

test('attack bounds: at ε = 1 a label is wrong ≥ 44 % of the time; bounds weaken as ε grows', () => {
  const b = attackBounds(privacyPlan(base), base.rounds);
  assert.ok(b.labelError > 0.44 && b.labelError < 0.5, String(b.labelError));
  assert.ok(b.rowErrorOneRound > 0.95, String(b.rowErrorOneRound));
  assert.ok(b.rowErrorAllRounds > 0.9, String(b.rowErrorAllRounds));
  const loose = attackBounds(privacyPlan({ ...base, epsilon: 50 }), base.rounds);
  assert.ok(loose.labelError < b.labelError && loose.rowErrorAllRounds < b.rowErrorAllRounds);
  assert.ok(Math.abs(normalCdf(0) - 0.5) < 1e-7 && Math.abs(normalCdf(1.959964) - 0.975) < 1e-6);
});

test('noise: seeded draws repeat, have the stated deviation, and crypto draws are in [0, 1)', () => {
  const draw = (seed: number) => {
    const v = new Float64Array(20_000);
    addGaussianNoise(v, 0, v.length, 3, seededRandom(seed));
    return v;
  };
  assert.deepEqual(draw(7), draw(7));
  assert.notDeepEqual(draw(7), draw(8));
  const v = draw(7);
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
  assert.ok(Math.abs(mean) < 0.1 && Math.abs(sd - 3) < 0.1, `mean ${mean}, sd ${sd}`);
  const only = new Float64Array(4);
  addGaussianNoise(only, 1, 3, 1, seededRandom(1));
  assert.ok(only[0] === 0 && only[3] === 0 && only[1] !== 0 && only[2] !== 0);
  for (let i = 0; i < 1000; i++) {
    const u = cryptoUniform();
    assert.ok(u >= 0 && u < 1);
  }
});
