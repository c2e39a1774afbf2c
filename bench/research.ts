/**
 * `npm run bench -- research`: a consented study over the four UCI heart-disease hospitals, each its
 * own gatekeeper process (src/manager/research-sites.ts), reached by the coordinator
 * (src/ml/research/coordinator.ts) only over HTTP, every round under secure aggregation and opened on
 * chain. 80 % of each hospital's patients consent (seeded); each site holds out a quarter of its
 * consenting patients by patient-id hash (src/ml/research/rows.ts).
 *
 * Two studies run (a study runs once: its rounds spend its budget):
 * - "without DP": ε = 1000, the largest a study may state (noise σ·clip ≈ 0.2 per coordinate against
 *   sums in the hundreds), 30 rounds, one shared intercept — compared with centralised training
 *   (same encoding, same ridge penalty, same training rows, fitted exactly) on the pooled test rows;
 * - "with DP": the study as shipped (src/ml/research/heart-study.ts): ε = 1, δ = 1e-5, 10 rounds,
 *   clip 1, site intercepts.
 * Both models are scored here on the same pooled held-out rows (the bench knows the rows; the
 * coordinator only gets the sites' aggregates, whose pooled AUC is reported beside). Per site: the
 * DP model's held-out AUC / ECE as the site reported it, against local-only training (the site alone,
 * no DP) and the centralised model. The DP run's spread over seeds is measured in process (the same
 * site code, seeded noise, plain sums).
 */
import type { Hex } from 'viem';
import { consentingRows, HEART_SITE_SEED } from '../src/demo/heart-sites.js';
import { startResearchSites } from '../src/manager/research-sites.js';
import { HEART_FEATURES, HEART_HOSPITALS, type HeartHospital } from '../src/ml/data.js';
import { stackRows } from '../src/ml/matrix.js';
import { auc } from '../src/ml/metrics.js';
import { fitStudyModelCentrally } from '../src/ml/research/baselines.js';
import { runStudy, type StudyRun } from '../src/ml/research/coordinator.js';
import { studyEncoding } from '../src/ml/research/encoding.js';
import { evaluationOf, type SiteEvaluation } from '../src/ml/research/evaluate.js';
import { heartStudyDefinition } from '../src/ml/research/heart-study.js';
import { runStudyInProcess } from '../src/ml/research/in-process.js';
import { predictStudy, type StudyModel } from '../src/ml/research/model.js';
import { privacyPlan } from '../src/ml/research/privacy.js';
import { siteRows, type SiteRows } from '../src/ml/research/rows.js';
import { createHeartResearchSite } from '../src/ml/research/site.js';
import { heartHospitalResources } from '../src/ml/research/uci-sites.js';
import { loadPepper } from '../src/sdk/identity.js';
import { registerStudy } from '../src/sdk/studies.js';
import { seededRandom } from '../src/random.js';
import { startFixture } from './harness/chain.js';

const SHARE = 0.8;
/** The study's columns (every heart feature, as heartStudyDefinition lists them). */
const encoding = studyEncoding(HEART_FEATURES.map((f) => f.name));
const DP_SEEDS = 10;

/** The consenting patients' records of each hospital, as the sites read them, and their split. */
function consentingSites() {
  return HEART_HOSPITALS.map((hospital) => {
    const consenting = new Set(consentingRows(HEART_SITE_SEED, hospital, SHARE));
    const resources = heartHospitalResources(hospital, (row) => consenting.has(row));
    return { hospital, resources, rows: siteRows(resources) };
  });
}

type Sites = ReturnType<typeof consentingSites>;

/** Pooled-test AUC of a study model, each row scored at its own site (with its intercept, if any). */
function pooledAuc(model: StudyModel, sites: Sites, siteId: (h: HeartHospital) => string): number {
  const p = sites.flatMap((s) => [...predictStudy(model, encoding, s.rows.test.x, siteId(s.hospital))]);
  return auc(p, sites.flatMap((s) => [...s.rows.test.y]));
}

/** Centralised and local-only baselines, on the same training rows; evaluated per site. */
function baselines(sites: Sites) {
  const train = (r: SiteRows['train'][]) => fitStudyModelCentrally(encoding, stackRows(r.map((t) => t.x)), Uint8Array.from(r.flatMap((t) => [...t.y])));
  const central = train(sites.map((s) => s.rows.train));
  const evaluate = (model: StudyModel, s: Sites[number]) => evaluationOf(s.hospital, s.rows.train.y.length, predictStudy(model, encoding, s.rows.test.x), s.rows.test.y);
  return {
    central,
    pooledAuc: pooledAuc(central, sites, (h) => h),
    centralBySite: sites.map((s) => evaluate(central, s)),
    localBySite: sites.map((s) => evaluate(train([s.rows.train]), s)),
  };
}

/** The DP study in process over seeded noise: the spread of its pooled-test AUC. */
async function dpSpread(sites: Sites, sponsor: { name: string; address: Hex }): Promise<{ n: number; mean: number; sd: number; min: number; max: number }> {
  const definition = heartStudyDefinition({ sponsor, expiresAt: '2030-01-01T00:00:00Z' });
  const values: number[] = [];
  for (let seed = 1; seed <= DP_SEEDS; seed++) {
    const research = createHeartResearchSite({ random: seededRandom(seed) });
    const run = await runStudyInProcess(definition, sites.map((s) => ({ site: s.hospital, research, resources: s.resources })));
    values.push(pooledAuc(run.model, sites, (h) => h));
  }
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1));
  return { n: values.length, mean, sd, min: Math.min(...values), max: Math.max(...values) };
}

const evaluationBy = (run: StudyRun, provider: string): SiteEvaluation | undefined => run.sites.find((s) => s.provider.toLowerCase() === provider.toLowerCase())?.evaluation;

export async function benchResearch(log: (line: string) => void = console.log) {
  const f = await startFixture();
  const sites = consentingSites();
  const base = baselines(sites);
  let running: Awaited<ReturnType<typeof startResearchSites>> | undefined;
  try {
    const account = await f.newAccount();
    const sponsor = f.as(account);
    const who = { name: 'MedLedger bench', address: account.address };
    const expiresAt = new Date(Date.now() + 30 * 86_400_000).toISOString();
    const noDp = heartStudyDefinition({ sponsor: who, expiresAt, model: { rounds: 30, siteIntercept: false }, privacy: { epsilon: 1000 } });
    const dp = heartStudyDefinition({ sponsor: who, expiresAt });
    log('  starting 4 hospital gatekeeper processes (first start seeds their stores)…');
    running = await startResearchSites({ runtime: f.runtime, dataDir: f.config.dataDir, pepper: loadPepper(f.config.dataDir), consentShare: SHARE });
    const links = running.sites.map(({ provider, url, name }) => ({ provider, url, name }));
    const providerOf = (h: HeartHospital) => running!.sites.find((s) => s.hospital === h)!.provider.toLowerCase();
    const runOne = async (definition: typeof dp, label: string) => {
      const { studyId } = await registerStudy(sponsor, definition);
      await running!.enroll(studyId, SHARE);
      log(`  ${label}: ${definition.model.rounds} rounds over HTTP with secure aggregation…`);
      return runStudy({ sponsor, definition, sites: links });
    };
    const plain = await runOne(noDp, 'without DP (ε = 1000)');
    const priv = await runOne(dp, `with DP (ε = ${dp.privacy.epsilon}, δ = ${dp.privacy.delta})`);
    const fedAuc = pooledAuc(plain.model, sites, providerOf);
    const fedAucDp = pooledAuc(priv.model, sites, providerOf);
    log(`  pooled-test AUC: federated ${fedAuc.toFixed(4)}, centralised ${base.pooledAuc.toFixed(4)}, federated with DP ${fedAucDp.toFixed(4)}`);
    log('  the DP study in process over seeded noise…');
    const spread = await dpSpread(sites, who);
    const perSite = sites.map((s, k) => {
      const e = evaluationBy(priv, providerOf(s.hospital));
      const e0 = evaluationBy(plain, providerOf(s.hospital));
      return {
        hospital: s.hospital,
        trainRows: s.rows.train.y.length,
        testRows: s.rows.test.y.length,
        fedAucDp: e?.auc ?? null,
        fedEceDp: e?.ece ?? null,
        fedAuc: e0?.auc ?? null,
        fedEce: e0?.ece ?? null,
        localAuc: base.localBySite[k]!.auc,
        localEce: base.localBySite[k]!.ece,
        pooledAuc: base.centralBySite[k]!.auc,
        pooledEce: base.centralBySite[k]!.ece,
      };
    });
    return {
      fedAuc,
      pooledAuc: base.pooledAuc,
      fedGap: Math.abs(fedAuc - base.pooledAuc),
      fedAucDp,
      fedAucDpSeeds: spread,
      coordinatorPooledAuc: plain.pooled.auc,
      coordinatorPooledAucDp: priv.pooled.auc,
      pooledEceDp: priv.pooled.ece,
      epsilon: dp.privacy.epsilon,
      delta: dp.privacy.delta,
      epsilonSpent: priv.epsilonSpent,
      sigma: privacyPlan({ ...dp.privacy, rounds: dp.model.rounds }).sigma,
      roundsDp: dp.model.rounds,
      roundsNoDp: noDp.model.rounds,
      roundMs: priv.roundMs,
      roundMsNoDp: plain.roundMs,
      bytesPerRound: priv.bytesPerRound,
      sites: perSite,
      processes: running.sites.length,
      trainRows: perSite.reduce((n, s) => n + s.trainRows, 0),
      testRows: perSite.reduce((n, s) => n + s.testRows, 0),
    };
  } finally {
    await running?.stop();
    await f.close();
  }
}
