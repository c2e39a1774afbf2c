/**
 * Federated research over the four UCI hospitals as four providers (src/ml/federated-research.ts):
 * all 920 rows written as FHIR into four PGlite stores behind four gatekeepers; per hospital a
 * stratified 25 % of the patients hold no research consent and serve as the held-out test set.
 * The model is trained by federated averaging from each store's consenting patients, every round
 * recorded on chain, and compared with a central model on the pooled training rows (which a real
 * federation could not build) and with fedTrain on the same rows in memory (must be the same model).
 */
import type { Resource } from '@medplum/fhirtypes';
import type { LedgerClient } from '../src/chain/client.js';
import { startGatekeeper, type RunningGatekeeper } from '../src/gatekeeper/run.js';
import { HEART_FEATURES, HEART_HOSPITALS, loadHeartDisease } from '../src/ml/data.js';
import { fedTrain } from '../src/ml/federated.js';
import { openProviderSite, trainFederatedAndRecord } from '../src/ml/federated-research.js';
import { hashModel, predictProba, trainLogistic } from '../src/ml/logistic.js';
import { stackRows, takeLabels, takeRows, type Matrix } from '../src/ml/matrix.js';
import { auc, stratifiedSplit } from '../src/ml/metrics.js';
import { heartPatientId, heartRowToFhir, researchConsent } from '../src/ml/uci-fhir.js';
import { modelIdOf } from '../src/sdk/models.js';
import { startFixture } from './harness/chain.js';

const SEED = 1;
const OPTIONS = { features: HEART_FEATURES, lambda: 3, missingIndicatorShare: 0.1, rounds: 100 };

export async function benchMlFederated(log: (line: string) => void = console.log) {
  const f = await startFixture();
  const gatekeepers: RunningGatekeeper[] = [];
  try {
    const providers: LedgerClient[] = [];
    for (let i = 0; i < HEART_HOSPITALS.length; i++) providers.push(await f.newProvider());
    let start = performance.now();
    for (const ledger of providers) gatekeepers.push(await startGatekeeper({ ledger, database: { dataDir: 'memory://' } }));
    const startMs = performance.now() - start;

    log('  writing the 920 UCI rows as validated FHIR into 4 provider stores…');
    start = performance.now();
    const train: { name: string; x: Matrix; y: Uint8Array }[] = [];
    const testX: Matrix[] = [];
    const testY: number[] = [];
    let resources = 0;
    for (const [k, hospital] of HEART_HOSPITALS.entries()) {
      const set = loadHeartDisease(hospital);
      const split = stratifiedSplit(set.y, 0.25, SEED);
      const consenting = new Set(split.train);
      const batch: Resource[] = [];
      for (let i = 0; i < set.x.rows; i++) {
        batch.push(...heartRowToFhir(hospital, i, set.x.data.subarray(i * set.x.cols, (i + 1) * set.x.cols), set.y[i]!));
        batch.push(researchConsent(heartPatientId(hospital, i), consenting.has(i)));
      }
      await gatekeepers[k]!.store.createMany(batch);
      resources += batch.length;
      train.push({ name: hospital, x: takeRows(set.x, split.train), y: takeLabels(set.y, split.train) });
      testX.push(takeRows(set.x, split.test));
      testY.push(...takeLabels(set.y, split.test));
    }
    const loadMs = performance.now() - start;

    start = performance.now();
    const sites = await Promise.all(HEART_HOSPITALS.map((name, k) => openProviderSite(gatekeepers[k]!.store, { name, provider: providers[k]!.account!.address })));
    const readSitesMs = performance.now() - start;

    log(`  federated averaging, ${OPTIONS.rounds} rounds, each recorded on chain…`);
    const coordinator = f.as(await f.newAccount());
    start = performance.now();
    const run = await trainFederatedAndRecord(coordinator, { modelId: modelIdOf('bench-uci-heart'), sites, options: OPTIONS });
    const trainAndRecordMs = performance.now() - start;

    const x = stackRows(testX);
    const pooled = trainLogistic({ features: HEART_FEATURES, x: stackRows(train.map((s) => s.x)), y: Uint8Array.from(train.flatMap((s) => [...s.y])) }, OPTIONS);
    const inMemory = await fedTrain(train, OPTIONS);
    const fedAuc = auc(predictProba(run.model, x), testY);
    const pooledAuc = auc(predictProba(pooled, x), testY);
    const gas = run.recorded.map((r) => Number(r.gasUsed));
    log(`  federated AUC ${fedAuc.toFixed(4)} (central ${pooledAuc.toFixed(4)}) over ${x.rows} held-out patients; ${run.recorded.length} rounds recorded, ${gas[1]} gas each`);
    return {
      fedAuc,
      pooledAuc,
      fedGap: Math.abs(fedAuc - pooledAuc),
      fedRounds: run.rounds,
      sameModelAsInMemory: run.modelHash === hashModel(inMemory.model) ? 1 : 0,
      hospitals: HEART_HOSPITALS.length,
      trainPatients: run.sites.reduce((n, s) => n + s.rows, 0),
      testPatients: x.rows,
      storedResources: resources,
      gatekeeperStartMs: startMs,
      loadMs,
      readSitesMs,
      trainAndRecordMs,
      recordMsPerRound: trainAndRecordMs / run.rounds,
      recordGasFirstRound: gas[0]!,
      recordGasPerRound: gas[1] ?? gas[0]!,
      recordGasTotal: gas.reduce((a, b) => a + b, 0),
    };
  } finally {
    for (const gk of gatekeepers) await gk.close();
    await f.close();
  }
}
