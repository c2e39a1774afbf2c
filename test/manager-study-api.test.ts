/**
 * The manager's study API (src/manager/study-routes.ts; issue 16 §1, §2, §6): a definition is
 * published only once its sponsor has registered it on chain with the same terms; each study is
 * served with what the chain says now (expiry, budget, enrolments, a patient's enrolment); results
 * only with the sponsor's signature; the catalogue survives a restart. One chain for the file.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Hex, LocalAccount } from 'viem';
import type { LedgerClient } from '../src/chain/client.js';
import { buildManager } from '../src/manager/server.js';
import { createStudyCatalogue } from '../src/manager/study-catalogue.js';
import { studyResultsMessage, type StudyEntry } from '../src/manager/web/lib/studies.js';
import { studyExpiresAtSeconds, studyHash, toMicroEpsilon, type StudyDefinition } from '../src/protocol/research/study.js';
import { enrollInStudy, registerStudy, studyIdOf, withdrawFromStudy, writeStudyRegistry } from '../src/sdk/studies.js';
import { startFixture, tempDir, type Fixture } from '../bench/harness/chain.js';

let f: Fixture;
let app: FastifyInstance;
let sponsor: LedgerClient;
let patient: LedgerClient;
let stranger: LocalAccount;
const dir = join(tempDir('medledger-studies-'), 'studies');
// Fixed for the file: the same words are the same study.
const expiresAt = new Date(Date.now() + 86_400_000 * 30).toISOString();

const definition = (address: Hex, title = 'Heart-disease risk across hospitals'): StudyDefinition => ({
  version: 1,
  title,
  sponsor: { name: 'Test sponsor', address },
  purpose: 'To learn which heart check-up results predict narrowed arteries.',
  data: { features: ['age', 'sex', 'chol'] },
  inclusion: 'Adults with a heart check-up',
  model: { type: 'logistic-regression', rounds: 5, learningRate: 0.5, siteIntercept: true },
  privacy: { epsilon: 2, delta: 1e-5, clip: 1, minSites: 3 },
  expiresAt,
});

function manager() {
  const deployment = f.runtime.deployment;
  return buildManager({
    chainId: deployment.chainId, contract: deployment.contract, deployBlock: deployment.deployBlock, rpcUrl: deployment.rpcUrl, providers: [], users: [],
    keystoreOf: () => undefined, hub: { subscribe: () => () => undefined } as never, webRoot: '/nonexistent', demo: false,
    studies: { reader: f.as(f.runtime.governor!), catalogue: createStudyCatalogue(dir), studyRegistry: deployment.studyRegistry! },
  });
}

before(async () => {
  f = await startFixture();
  sponsor = f.as(await f.newAccount());
  patient = f.as(await f.newAccount());
  stranger = await f.newAccount();
  app = manager();
  await app.ready();
});
after(async () => {
  await app?.close();
  await f?.close();
  rmSync(join(dir, '..'), { recursive: true, force: true });
});

const post = (payload: unknown) => app.inject({ method: 'POST', url: '/api/studies', payload: JSON.stringify(payload), headers: { 'content-type': 'application/json' } });

test('a definition is published only after its sponsor registers it on chain with the same terms', async () => {
  const def = definition(sponsor.account!.address);
  const early = await post(def);
  assert.equal(early.statusCode, 409);
  assert.match(early.json().error, /registered on chain .* register it first/);
  assert.equal((await post({ ...def, extra: 1 })).statusCode, 400);
  assert.match((await post({ ...def, privacy: { ...def.privacy, minSites: 2 } })).json().error, /minSites must be at least 3/);

  // The same hash registered with another expiry on chain: the words do not match what patients would consent to.
  const other = definition(sponsor.account!.address, 'Other terms on chain');
  await writeStudyRegistry(sponsor, 'registerStudy', [studyHash(other), studyExpiresAtSeconds(other) + 86_400, toMicroEpsilon(other.privacy.epsilon), other.privacy.minSites]);
  const mismatch = await post(other);
  assert.equal(mismatch.statusCode, 409);
  assert.match(mismatch.json().error, /expiry differs/);

  const { studyId } = await registerStudy(sponsor, def);
  const created = await post(def);
  assert.equal(created.statusCode, 201);
  const entry = created.json() as StudyEntry;
  assert.equal(entry.studyId, studyId);
  assert.equal(entry.studyHash, studyHash(def));
  assert.deepEqual(entry.chain, {
    sponsor: sponsor.account!.address, expiresAt: new Date(studyExpiresAtSeconds(def) * 1000).toISOString(), expired: false,
    epsilonBudget: 2, epsilonSpent: 0, rounds: 0, minSites: 3,
  });
  assert.equal(entry.enrolled, 0);
  const list = (await app.inject('/api/studies')).json() as { studies: StudyEntry[] };
  assert.deepEqual(list.studies.map((s) => s.definition.title), [def.title]);
  assert.equal((await app.inject(`/api/studies/0x${'ab'.repeat(32)}`)).statusCode, 404);
  assert.equal((await app.inject('/api/studies/not-an-id')).statusCode, 404);
});

test("a patient's enrolment and withdrawal on chain show in the study they read", async () => {
  const def = definition(sponsor.account!.address);
  const studyId = studyIdOf(sponsor.account!.address, studyHash(def));
  const me = patient.account!.address;
  const read = async () => (await app.inject(`/api/studies/${studyId}?patient=${me}`)).json() as StudyEntry;
  assert.equal((await read()).patientEnrolled, false);
  await enrollInStudy(patient, studyId);
  assert.deepEqual([(await read()).patientEnrolled, (await read()).enrolled], [true, 1]);
  const listed = (await app.inject(`/api/studies?patient=${me}`)).json() as { studies: StudyEntry[] };
  assert.equal(listed.studies[0]!.patientEnrolled, true);
  await withdrawFromStudy(patient, studyId);
  assert.deepEqual([(await read()).patientEnrolled, (await read()).enrolled], [false, 0]);
  assert.equal((await app.inject(`/api/studies?patient=nobody`)).statusCode, 400);
});

test('results are kept only with the sponsor’s signature, and the catalogue survives a restart', async () => {
  const def = definition(sponsor.account!.address);
  const studyId = studyIdOf(sponsor.account!.address, studyHash(def));
  const results = { rounds: 5, sites: [{ site: 'a', auc: 0.81 }], pooled: { auc: 0.8 } };
  const put = (signature: Hex, body: unknown = results) =>
    app.inject({ method: 'PUT', url: `/api/studies/${studyId}/results`, payload: JSON.stringify({ results: body, signature }), headers: { 'content-type': 'application/json' } });
  assert.equal((await app.inject(`/api/studies/${studyId}/results`)).statusCode, 404);
  const message = studyResultsMessage(studyId, results);
  assert.equal((await put(await stranger.signMessage({ message }))).statusCode, 403);
  // Signed for other numbers: refused too.
  assert.equal((await put(await sponsor.account!.signMessage({ message }), { ...results, rounds: 6 })).statusCode, 403);
  assert.equal((await put(await sponsor.account!.signMessage({ message }))).statusCode, 204);
  assert.deepEqual((await app.inject(`/api/studies/${studyId}/results`)).json(), results);
  assert.equal(((await app.inject(`/api/studies/${studyId}`)).json() as StudyEntry).hasResults, true);

  await app.close();
  app = manager();
  await app.ready();
  assert.deepEqual((await app.inject(`/api/studies/${studyId}/results`)).json(), results);
  assert.equal(((await app.inject('/api/studies')).json() as { studies: StudyEntry[] }).studies.length, 1);
  assert.equal((await app.inject('/api/config')).json().studyRegistry, f.runtime.deployment.studyRegistry);
});
