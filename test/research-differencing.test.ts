/**
 * The differencing attack of the independent review (issue 16, point 5), replayed on the study's
 * site updates: two runs whose consenting sets differ by one withdrawn patient; the attacker subtracts
 * the released round-1 sums and reads off the patient's contribution rᵢ·[xᵢ, 1, count 1], hence the
 * encoded row xᵢ = Δ_row / Δ_intercept and the label from the sign of rᵢ = ½ − yᵢ (the model starts at 0).
 *
 * Without DP the attack recovers the row and label exactly (first test: it must, or this file proves
 * nothing). With the study's DP (privacy.ts; ε = 1, δ = 1e-5, 10 rounds, clip 1 → σ ≈ 21.9) the bound
 * (privacy.ts attackBounds), for an attacker who even knows the patient's residual scale rᵢ·cᵢ exactly:
 *   - each recovered coordinate of the encoded row is off by ≥ X = 1 (half its public range: 35 years
 *     of age) with probability ≥ Y = 2·Φ(−1/(√2·σ)) ≈ 0.97 for one round's subtraction
 *     (2·Φ(−√(ρ/2)) ≈ 0.92 averaging all rounds);
 *   - the label is wrong with probability ≥ Φ(−√ρ) ≈ 0.44 for any attacker, equal prior
 *     (a coin flip is 0.5).
 * The review's estimate itself (a ratio of two noisy numbers, no oracle) is off by ≥ 1 at least half
 * the time (Cauchy, see the test).
 * Checked empirically over 400 seeded pairs of runs, allowing 4 binomial standard errors.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEART_FEATURES, HEART_HOSPITALS, type HeartHospital } from '../src/ml/data.js';
import { encodeStudyRow, studyEncoding } from '../src/ml/research/encoding.js';
import { heartStudyDefinition } from '../src/ml/research/heart-study.js';
import { initialStudyModel } from '../src/ml/research/model.js';
import { attackBounds, privacyPlan } from '../src/ml/research/privacy.js';
import { siteRows, type SiteRows } from '../src/ml/research/rows.js';
import { createHeartResearchSite, siteUpdate } from '../src/ml/research/site.js';
import { heartHospitalResources } from '../src/ml/research/uci-sites.js';
import { heartPatientId } from '../src/ml/uci-fhir.js';
import { seededRandom } from '../src/random.js';

const study = heartStudyDefinition({ sponsor: { name: 'Review', address: '0x00000000000000000000000000000000000000b2' }, expiresAt: '2030-01-01T00:00:00Z' });
const encoding = studyEncoding(study.data.features);
const d = encoding.columns.length;
const sites = [...HEART_HOSPITALS];
const model = initialStudyModel(study, sites);
const group = sites.indexOf('cleveland');
const AGE = encoding.columns.findIndex((c) => c.name === 'age');

// The withdrawn patient: Cleveland's first patient in the training split (held-out rows never train).
const full = Object.fromEntries(sites.map((h) => [h, heartHospitalResources(h)])) as Record<HeartHospital, ReturnType<typeof heartHospitalResources>>;
const clevelandRows = siteRows(full.cleveland);
const victimId = clevelandRows.train.patients[0]!;
const victimRow = Number(victimId.split('-')[1]) - 1;
assert.equal(heartPatientId('cleveland', victimRow), victimId);
const withdrawn = { ...full, cleveland: heartHospitalResources('cleveland', (row) => row !== victimRow) };
const victim = { x: clevelandRows.train.x.data.subarray(0, HEART_FEATURES.length), y: clevelandRows.train.y[0]! };
const truth = encodeStudyRow(encoding, victim.x);

/** The review's attack on two released round-1 sums. */
function attack(withPatient: readonly number[], without: readonly number[]) {
  const delta = withPatient.map((v, j) => v - without[j]!);
  const interceptSlot = delta[d + group]!;
  return {
    delta,
    label: interceptSlot > 0 ? 0 : 1, // r = σ(0) − y = ½ − y
    row: delta.slice(0, d).map((v) => v / interceptSlot),
  };
}

const sum = (vectors: number[][]) => vectors[0]!.map((_, j) => vectors.reduce((a, v) => a + v[j]!, 0));

test('without DP the differencing attack recovers the withdrawn patient exactly (row and label)', () => {
  const site = createHeartResearchSite({ withoutPrivacy: true });
  const round1 = (resources: Record<HeartHospital, ReturnType<typeof heartHospitalResources>>) =>
    sum(sites.map((s) => site.localUpdate(study, 1, model, resources[s], { site: s, sites })));
  const found = attack(round1(full), round1(withdrawn));
  assert.equal(found.label, victim.y);
  found.row.forEach((v, c) => assert.ok(Math.abs(v - truth[c]!) < 1e-9, `${encoding.columns[c]!.name}: ${v} vs ${truth[c]}`));
  assert.equal(found.delta[d + sites.length + group], 1);
  const age = ((found.row[AGE]! + 1) / 2) * 70 + 20;
  assert.ok(Math.abs(age - victim.x[0]!) < 1e-6, `recovered age ${age}, true ${victim.x[0]}`);
});

test('with DP at the study ε the recovered row is off by ≥ 1 and the label wrong at the proven rates', (t) => {
  const plan = privacyPlan({ ...study.privacy, rounds: study.model.rounds });
  const bounds = attackBounds(plan, study.model.rounds);
  const rowsOf = (resources: Record<HeartHospital, ReturnType<typeof heartHospitalResources>>) =>
    Object.fromEntries(sites.map((s) => [s, siteRows(resources[s]).train])) as Record<HeartHospital, SiteRows['train']>;
  const a = rowsOf(full);
  const b = rowsOf(withdrawn);
  const exact = siteUpdate(study, model, a.cleveland.x, a.cleveland.y, { site: 'cleveland', sites }, { withoutPrivacy: true }).vector;
  const without = siteUpdate(study, model, b.cleveland.x, b.cleveland.y, { site: 'cleveland', sites }, { withoutPrivacy: true }).vector;
  const scale = exact[d + group]! - without[d + group]!; // the patient's rᵢ·cᵢ, given to the oracle attacker
  const trials = 400;
  let labelWrong = 0;
  let rowOff = 0;
  let naiveRowOff = 0;
  for (let t = 0; t < trials; t++) {
    const random = seededRandom(1000 + t);
    const release = (rows: typeof a) => sum(sites.map((s) => Array.from(siteUpdate(study, model, rows[s].x, rows[s].y, { site: s, sites }, { random }).vector)));
    const found = attack(release(a), release(b));
    if (found.label !== victim.y) labelWrong++;
    if (Math.abs(found.delta[AGE]! / scale - truth[AGE]!) >= 1) rowOff++;
    if (Math.abs(found.row[AGE]! - truth[AGE]!) >= 1) naiveRowOff++;
  }
  const atLeast = (count: number, p: number, what: string) => {
    const margin = 4 * Math.sqrt((p * (1 - p)) / trials);
    assert.ok(count / trials >= p - margin, `${what}: ${count}/${trials} below the bound ${p.toFixed(3)} − ${margin.toFixed(3)}`);
  };
  t.diagnostic(`label wrong ${labelWrong}/${trials} (bound ${bounds.labelError.toFixed(3)}); age off by ≥ 1: oracle ${rowOff}/${trials}, review attack ${naiveRowOff}/${trials} (bound ${bounds.rowErrorOneRound.toFixed(3)})`);
  atLeast(labelWrong, bounds.labelError, 'label wrong');
  atLeast(rowOff, bounds.rowErrorOneRound, 'age coordinate off by ≥ 1 (oracle scale)');
  // The review's own estimate divides two noisy numbers: with noise far above the signal (σ·clip ≈ 22
  // against |rᵢcᵢ| ≤ ½) their ratio is Cauchy with scale ≥ 1, off by ≥ 1 at least half the time.
  atLeast(naiveRowOff, 0.5, 'age coordinate off by ≥ 1 (review attack)');
  assert.ok(bounds.labelError > 0.44 && bounds.rowErrorOneRound > 0.95);
});
