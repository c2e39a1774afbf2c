/**
 * The machine learning of a research study (src/ml/research): a site's update (shape, clipping,
 * noise), the coordinator's step converging to the centralised model on the four UCI hospitals, the
 * site-specific intercept, and the per-site / pooled evaluation from aggregates.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEART_FEATURES, HEART_HOSPITALS } from '../src/ml/data.js';
import { auc, reliability } from '../src/ml/metrics.js';
import { stackRows } from '../src/ml/matrix.js';
import { fitStudyModelCentrally } from '../src/ml/research/baselines.js';
import { aucEstimate, studyModelCard } from '../src/ml/research/card.js';
import { encodeStudyRow, studyEncoding } from '../src/ml/research/encoding.js';
import { combineEvaluations, evaluateSite, evaluationOf } from '../src/ml/research/evaluate.js';
import { heartStudyDefinition } from '../src/ml/research/heart-study.js';
import { runStudyInProcess } from '../src/ml/research/in-process.js';
import { applyRound, initialStudyModel, parseStudyModel, predictStudy, studyModelHash, updateLength } from '../src/ml/research/model.js';
import { privacyPlan } from '../src/ml/research/privacy.js';
import { siteRows } from '../src/ml/research/rows.js';
import { createHeartResearchSite, siteUpdate } from '../src/ml/research/site.js';
import { heartSitesResources } from '../src/ml/research/uci-sites.js';
import type { StudySiteContext } from '../src/protocol/research/site.js';
import type { StudyDefinition } from '../src/protocol/research/study.js';
import { seededRandom } from '../src/random.js';

const SPONSOR = { name: 'Test sponsor', address: '0x00000000000000000000000000000000000000a1' as const };
const study = (o: Parameters<typeof heartStudyDefinition>[0]['model'] = {}) => heartStudyDefinition({ sponsor: SPONSOR, expiresAt: '2030-01-01T00:00:00Z', model: o });
const resources = heartSitesResources();
const rows = HEART_HOSPITALS.map((h) => siteRows(resources[h]));
const sites = [...HEART_HOSPITALS];
const encoding = studyEncoding(HEART_FEATURES.map((f) => f.name));

test('encoding: public ranges, ±1 binaries, one-hot levels, missing columns; each feature adds ≤ 1 to the squared norm', () => {
  assert.equal(encoding.columns.length, 31);
  const row = Float64Array.from([55, 1, 4, 140, 600, NaN, 0, 2000, 0, 2, 2, NaN, 7]);
  const z = encodeStudyRow(encoding, row);
  const at = (name: string) => z[encoding.columns.findIndex((c) => c.name === name)]!;
  assert.equal(at('age'), 0); // 55 is the middle of 20–90
  assert.equal(at('sex'), 1);
  assert.equal(at('cp=4'), 1);
  assert.equal(at('cp=1'), 0);
  assert.equal(at('chol'), 1);
  assert.equal(at('thalach'), 1); // clamped to 210
  assert.equal(at('fbs'), 0);
  assert.equal(at('fbs missing'), 1);
  assert.equal(at('exang'), -1);
  assert.ok(z.reduce((a, v) => a + v * v, 0) <= HEART_FEATURES.length);
  assert.throws(() => studyEncoding(['age', 'shoe-size']), /not a heart feature/);
});

test('held-out split by patient id hash: about a quarter of each hospital, stable, disjoint', () => {
  rows.forEach((r, k) => {
    const n = r.train.y.length + r.test.y.length;
    assert.ok(r.test.y.length > 0.15 * n && r.test.y.length < 0.35 * n, `${sites[k]}: ${r.test.y.length} of ${n}`);
    assert.equal(new Set([...r.train.patients, ...r.test.patients]).size, n);
  });
  assert.deepEqual(siteRows(resources.va).test.patients, rows[3]!.test.patients);
});

test('site update: layout, counts, per-patient clipping, noise only on its own slots', () => {
  const s = study({ siteIntercept: true });
  const model = initialStudyModel(s, sites);
  const { x, y } = rows[1]!.train;
  const context = { site: 'hungarian', sites };
  const plain = siteUpdate(s, model, x, y, context, { withoutPrivacy: true }).vector;
  assert.equal(plain.length, updateLength(s, sites));
  assert.equal(plain.length, 31 + 2 * 4);
  assert.deepEqual([...plain.subarray(31 + 4)], [0, y.length, 0, 0]);
  assert.equal(plain[31]! + plain[33]! + plain[34]!, 0);
  // At w = 0 every residual is ±½ and every row's norm ≥ 1, so clip ¼ binds for every patient:
  // the gradient part of one patient has norm exactly ¼, and the intercept slot sums ±¼·(scale).
  const tight = { ...s, privacy: { ...s.privacy, clip: 0.25 } };
  const one = siteUpdate(tight, model, { data: x.data.subarray(0, 13), rows: 1, cols: 13 }, y.subarray(0, 1), context, { withoutPrivacy: true });
  const norm = Math.hypot(...one.vector.subarray(0, 31 + 4));
  assert.ok(Math.abs(norm - 0.25) < 1e-12, String(norm));
  assert.equal(siteUpdate(tight, model, x, y, context, { withoutPrivacy: true }).clipped, y.length);
  // With noise: the same seed gives the same vector; other sites' slots stay exactly zero.
  const noisy = (seed: number) => siteUpdate(s, model, x, y, context, { random: seededRandom(seed) }).vector;
  assert.deepEqual(noisy(3), noisy(3));
  const v = noisy(3);
  assert.deepEqual([v[31], v[33], v[34], v[35], v[37], v[38]], [0, 0, 0, 0, 0, 0]);
  const sd = Math.sqrt(v.subarray(0, 31).reduce((a, n, c) => a + (n - plain[c]!) ** 2, 0) / 31);
  const expected = privacyPlan({ ...s.privacy, rounds: s.model.rounds }).gradientNoise;
  assert.ok(sd > expected / 2 && sd < expected * 2, `noise sd ${sd}, σ·clip ${expected}`);
});

test('the ResearchSite checks the model and the round', () => {
  const s = study();
  const site = createHeartResearchSite({ withoutPrivacy: true });
  const model = initialStudyModel(s, sites);
  const context = { site: 'va', sites };
  assert.equal(site.localUpdate(s, 1, model, resources.va, context).length, updateLength(s, sites));
  assert.throws(() => site.localUpdate(s, 2, model, resources.va, context), /does not follow/);
  assert.throws(() => site.localUpdate(s, 1, { ...model, columns: ['age'] }, resources.va, context), /columns differ/);
  assert.throws(() => parseStudyModel(s, { ...model, weights: [NaN] }), /not a model/);
  assert.throws(() => applyRound(s, model, [1, 2]), /expected/);
});

test('federated without noise ≈ centralised on the same rows (pooled-test AUC within 0.02); site intercepts track base rates', async () => {
  const testX = stackRows(rows.map((r) => r.test.x));
  const testY = Uint8Array.from(rows.flatMap((r) => [...r.test.y]));
  const central = fitStudyModelCentrally(encoding, stackRows(rows.map((r) => r.train.x)), Uint8Array.from(rows.flatMap((r) => [...r.train.y])));
  const centralAuc = auc(predictStudy(central, encoding, testX), testY);
  // The site's own computation on rows read once (the FHIR path is the previous test's): lean.
  const inputs = () =>
    sites.map((site, k) => ({
      site,
      resources: [],
      research: {
        localUpdate: (s: StudyDefinition, _round: number, model: unknown, _r: unknown, context: StudySiteContext) => Array.from(siteUpdate(s, parseStudyModel(s, model), rows[k]!.train.x, rows[k]!.train.y, context, { withoutPrivacy: true }).vector),
        evaluate: (s: StudyDefinition, model: unknown) => evaluateSite(s, parseStudyModel(s, model), rows[k]!, site),
      },
    }));
  const shared = await runStudyInProcess(study({ rounds: 30, siteIntercept: false }), inputs());
  const fedAuc = auc(predictStudy(shared.model, encoding, testX), testY);
  assert.ok(Math.abs(fedAuc - centralAuc) <= 0.02, `federated ${fedAuc} vs centralised ${centralAuc}`);
  // The coordinator's pooled AUC from histograms agrees with the exact one.
  assert.ok(Math.abs(shared.pooled.auc! - fedAuc) < 0.01, `${shared.pooled.auc} vs ${fedAuc}`);
  assert.equal(shared.pooled.testRows, testY.length);

  const own = await runStudyInProcess(study({ rounds: 30, siteIntercept: true }), inputs());
  const [cleveland, hungarian, switzerland, va] = own.model.siteIntercepts;
  // Switzerland's and VA's patients are mostly diseased, Hungary's mostly not.
  assert.ok(switzerland! > hungarian! && va! > hungarian! && switzerland! > cleveland!, String(own.model.siteIntercepts));
  assert.ok(own.pooled.ece! < shared.pooled.ece!, `pooled ECE with site intercepts ${own.pooled.ece}, shared ${shared.pooled.ece}`);
  assert.notEqual(studyModelHash(own.model), studyModelHash(shared.model));
});

test('evaluation: per-site AUC and ECE, pooled from histograms; a tiny site reports counts only', () => {
  const random = seededRandom(5);
  const y = Array.from({ length: 400 }, () => (random() < 0.4 ? 1 : 0));
  const p = y.map((label) => Math.min(0.999, Math.max(0, 0.3 + 0.2 * label + 0.5 * (random() - 0.5))));
  const a = evaluationOf('a', 100, p.slice(0, 200), y.slice(0, 200));
  const b = evaluationOf('b', 100, p.slice(200), y.slice(200));
  assert.ok(Math.abs(a.auc! - auc(p.slice(0, 200), y.slice(0, 200))) < 1e-12);
  const pooled = combineEvaluations([a, b]);
  assert.equal(pooled.testRows, 400);
  assert.ok(Math.abs(pooled.auc! - auc(p, y)) < 0.01, `${pooled.auc} vs ${auc(p, y)}`);
  assert.ok(pooled.auc! > 0.6 && pooled.auc! < 0.95, String(pooled.auc));
  assert.ok(Math.abs(pooled.ece! - reliability(p, y, 10).expectedCalibrationError) < 0.02, String(pooled.ece));
  const tiny = evaluationOf('c', 3, [0.2, 0.8], [0, 1]);
  assert.equal(tiny.auc, null);
  assert.deepEqual(tiny.histogram.positives, []);
});

test('model card: privacy parameters, consent-set hash, on-chain record, per-site AUC with Hanley–McNeil intervals', async () => {
  const s = study({ rounds: 3 });
  const research = createHeartResearchSite({ random: seededRandom(9) });
  const run = await runStudyInProcess(s, sites.map((site) => ({ site, research, resources: resources[site] })));
  const consentSetHash = `0x${'ab'.repeat(32)}` as const;
  const chain = { registry: `0x${'01'.repeat(20)}` as const, studyId: `0x${'cd'.repeat(32)}` as const, studyHash: `0x${'ef'.repeat(32)}` as const, epsilonSpent: 1, rounds: 3 };
  const card = studyModelCard({ study: s, model: run.model, evaluations: run.evaluations, consentSetHash, chain });
  assert.equal(card.modelHash, studyModelHash(run.model));
  assert.equal(card.consentSetHash, consentSetHash);
  assert.deepEqual(card.onChain, { registry: chain.registry, modelHash: card.modelHash, consentSetHash, transactionHash: undefined, blockNumber: undefined });
  assert.equal(card.research.privacy.epsilon, 1);
  assert.equal(card.research.privacy.delta, 1e-5);
  assert.equal(card.research.privacy.sigma, privacyPlan({ ...s.privacy, rounds: 3 }).sigma);
  assert.equal(card.research.studyId, chain.studyId);
  assert.equal(card.subgroups.length, 4);
  for (const g of card.subgroups) assert.ok(!g.auc || (g.auc.low <= g.auc.value && g.auc.value <= g.auc.high));
  assert.equal(card.metrics.auc!.value, run.pooled.auc);
  // Hanley & McNeil: the interval narrows with more cases and is [0, 1]-bounded.
  const wide = aucEstimate(0.8, 10, 10);
  const narrow = aucEstimate(0.8, 200, 200);
  assert.ok(narrow.high - narrow.low < (wide.high - wide.low) / 3);
  assert.ok(aucEstimate(0.99, 5, 5).high <= 1);
});
