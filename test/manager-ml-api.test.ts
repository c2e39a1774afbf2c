/**
 * The manager's model API (src/manager/ml-routes.ts; issue 15 §7): cards and model documents, and
 * stateless assessment of one patient's records — the same answer the in-browser code gives, FHIR
 * Bundle or {resources}, 400 with a clear error for what is not one patient's FHIR, 404 for an
 * unknown model, nothing cached. The models are loaded from their artefacts (data/models) by the same
 * service a system starts.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Resource } from '@medplum/fhirtypes';
import { buildManager } from '../src/manager/server.js';
import { assessBreastCytology } from '../src/ml/breast/assess.js';
import { WDBC_FEATURE_NAMES, wdbcCoding } from '../src/ml/breast/codes.js';
import type { ModelCard } from '../src/ml/card.js';
import { loadHeartDisease, loadWdbc } from '../src/ml/data.js';
import { adviseHeart, assessHeartRisk, findSimilarCases } from '../src/ml/heart/assess.js';
import type { HeartRiskModelDocument } from '../src/ml/heart/types.js';
import type { ModelRegistry } from '../src/ml/registry.js';
import { startModelService } from '../src/ml/service.js';
import { heartRowToFhir } from '../src/ml/uci-fhir.js';

let app: FastifyInstance;
let models: ModelRegistry;
const cleveland = loadHeartDisease('cleveland');
const records = heartRowToFhir('cleveland', 3, cleveland.x.data.subarray(3 * 13, 4 * 13), cleveland.y[3]!);
const bundle = { resourceType: 'Bundle', type: 'collection', entry: records.map((resource) => ({ resource })) };

before(async () => {
  const lines: string[] = [];
  models = await startModelService({ log: (l) => lines.push(l) });
  assert.ok(lines.some((l) => /model heart-risk: loaded from its artefact, held-out AUC 0\.\d+/.test(l)), lines.join('\n'));
  app = buildManager({
    chainId: 1, contract: `0x${'0'.repeat(40)}`, deployBlock: 0n, rpcUrl: 'http://127.0.0.1:9', providers: [], users: [],
    keystoreOf: () => undefined, hub: { subscribe: () => () => undefined } as never, webRoot: '/nonexistent', demo: false, models,
  });
  await app.ready();
});
after(async () => {
  await app?.close();
});

const post = (url: string, payload: unknown, contentType = 'application/json') =>
  app.inject({ method: 'POST', url, payload: typeof payload === 'string' ? payload : JSON.stringify(payload), headers: { 'content-type': contentType } });

test('GET /api/ml/models lists the cards; /api/ml/models/{id} the document; /card the card; 404 for an unknown model', async () => {
  const list = await app.inject('/api/ml/models');
  assert.equal(list.statusCode, 200);
  const cards = list.json() as ModelCard[];
  assert.deepEqual(cards.map((c) => c.id), ['heart-risk', 'breast-cytology', 'outbreak-forecast', 'pneumonia-xray-cnn', 'breast-ultrasound-cnn']);
  const doc = (await app.inject('/api/ml/models/heart-risk')).json() as HeartRiskModelDocument;
  assert.deepEqual(doc.card, cards[0]);
  assert.ok((doc.parameters as { refits: unknown[] }).refits.length > 0);
  assert.deepEqual((await app.inject('/api/ml/models/breast-cytology/card')).json(), cards[1]);
  // The outbreak forecast runs on the server: a card (the benchmark's figures), no document to download.
  assert.ok((await app.inject('/api/ml/models/outbreak-forecast/card')).json().metrics['flu MAE h2'].n > 0);
  assert.equal((await app.inject('/api/ml/models/outbreak-forecast')).statusCode, 404);
  for (const url of ['/api/ml/models/nope', '/api/ml/models/nope/card']) {
    const res = await app.inject(url);
    assert.equal(res.statusCode, 404, url);
    assert.match(res.json().error, /no model "nope": the served models are heart-risk, breast-cytology, outbreak-forecast, pneumonia-xray-cnn, breast-ultrasound-cnn/);
  }
});

test('POST /api/ml/heart-risk/assess answers what the model gives in the reader’s own process, for a Bundle or {resources}', async () => {
  const doc = (await app.inject('/api/ml/models/heart-risk')).json() as HeartRiskModelDocument;
  const assessment = assessHeartRisk(doc, records);
  const expected = JSON.parse(JSON.stringify({ assessment, similar: findSimilarCases(doc, records), advice: adviseHeart(doc, records, assessment) }));
  const fromBundle = await post('/api/ml/heart-risk/assess', bundle);
  assert.equal(fromBundle.statusCode, 200, fromBundle.body);
  assert.equal(fromBundle.headers['cache-control'], 'no-store');
  assert.deepEqual(fromBundle.json(), expected);
  const fromList = await post('/api/ml/heart-risk/assess', { resources: records }, 'application/fhir+json');
  assert.equal(fromList.statusCode, 200, fromList.body);
  assert.deepEqual(fromList.json(), expected);
  assert.equal(expected.assessment.inputs.filter((i: { status: string }) => i.status === 'observed').length, 13);
});

test('POST /api/ml/breast-cytology/assess reads a cytology report', async () => {
  const data = loadWdbc();
  const row = data.y.indexOf(1);
  const observations: Resource[] = WDBC_FEATURE_NAMES.map((name, j) => ({
    resourceType: 'Observation', id: `f${j}`, status: 'final', code: { coding: [wdbcCoding(name)] },
    valueQuantity: { value: data.x.data[row * 30 + j]!, unit: '1', system: 'http://unitsofmeasure.org', code: '1' },
  }));
  const res = await post('/api/ml/breast-cytology/assess', { resources: observations });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json() as { assessment: { probability: number }; similar: unknown[]; advice: unknown[] };
  const doc = (await app.inject('/api/ml/models/breast-cytology')).json() as HeartRiskModelDocument;
  assert.equal(body.assessment.probability, assessBreastCytology(doc, observations).probability);
  assert.ok(body.assessment.probability > 0.5);
  assert.equal(body.similar.length, 5);
  assert.deepEqual(body.advice, []);
});

test('400 with a clear error for what is not one patient’s FHIR records; 404 for an unknown model', async () => {
  const cases: [unknown, RegExp][] = [
    ['not json', /JSON/i],
    [[1, 2], /FHIR Bundle or \{"resources": \[\.\.\.\]\}/],
    [{ hello: 'world' }, /FHIR Bundle or \{"resources": \[\.\.\.\]\}/],
    [{ resourceType: 'Bundle', entry: 'x' }, /Bundle.entry must be an array/],
    [{ resources: [{ id: 'x' }] }, /resource 0 is not a FHIR resource/],
    [{ resources: [{ resourceType: 'Patient', id: 'a', identifier: [{ system: 's', value: '1' }] }, { resourceType: 'Patient', id: 'b', identifier: [{ system: 's', value: '2' }] }] }, /2 Patient resources with no identifier in common: send one patient's records/],
  ];
  for (const [payload, error] of cases) {
    const res = await post('/api/ml/heart-risk/assess', payload);
    assert.equal(res.statusCode, 400, JSON.stringify(payload));
    const body = res.json() as { error?: string; message?: string };
    assert.match(`${body.error} ${body.message ?? ''}`, error, JSON.stringify(body));
  }
  // Two providers' copies of one patient (a shared identifier) are one person.
  const copies = [{ resourceType: 'Patient', id: 'smh-1', identifier: [{ system: 'mrn', value: '7' }] }, { resourceType: 'Patient', id: 'cl-1', identifier: [{ system: 'mrn', value: '7' }] }];
  assert.equal((await post('/api/ml/heart-risk/assess', { resources: copies })).statusCode, 200);
  const unknown = await post('/api/ml/nope/assess', bundle);
  assert.equal(unknown.statusCode, 404);
  assert.match(unknown.json().error, /no model "nope"/);
});
