/**
 * The served heart-disease and breast-cytology models (src/ml/heart, src/ml/breast; issue 15 §1–2):
 * reading one patient's FHIR records into the model's inputs (sources, missing and unreadable inputs
 * with notes), contributions that add up to the logit, calibrated probabilities with intervals, the
 * operating point; the cards' held-out numbers and their intervals, subgroups and hashes; similar
 * cases; advice order; the demo work-ups the models read; and that the in-browser modules import
 * nothing of Node. Each model is trained once for the file.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import type { Observation, Patient, Resource } from '@medplum/fhirtypes';
import { assessBreastCytology, findSimilarCytology } from '../src/ml/breast/assess.js';
import { WDBC_FEATURE_NAMES, wdbcCoding } from '../src/ml/breast/codes.js';
import { trainBreastModel, wdbcPatientAddress } from '../src/ml/breast/train.js';
import { consentSetHash } from '../src/ml/consent-set.js';
import { HEART_FEATURES, HEART_HOSPITALS, loadHeartDisease, loadWdbc } from '../src/ml/data.js';
import { adviseHeart, assessHeartRisk, findSimilarCases } from '../src/ml/heart/assess.js';
import { trainHeartModel } from '../src/ml/heart/train.js';
import type { HeartAssessment } from '../src/ml/heart/types.js';
import { applyPlatt } from '../src/ml/logistic.js';
import { loadServedArtefact } from '../src/ml/served-artefacts.js';
import { hashServed } from '../src/ml/served-train.js';
import { nearestCases, type ServedLogistic } from '../src/ml/served-model.js';
import { heartPatientAddress, heartRowToFhir } from '../src/ml/uci-fhir.js';
import { generatePatients, patientIdAt } from '../src/demo/generate.js';
import { modelWorkups } from '../src/demo/workups.js';
import { loadDefinitions, validate } from '../src/records/fhir.js';

const heart = trainHeartModel({ refits: 100 });
const breast = trainBreastModel({ refits: 100 });
const doc = heart.document;
const params = doc.parameters as ServedLogistic;

const cleveland = loadHeartDisease('cleveland');
/** Cleveland row `i` as the FHIR records uci-fhir.ts writes (Patient, one Observation per value, the Condition). */
const ucirow = (i: number): Resource[] => heartRowToFhir('cleveland', i, cleveland.x.data.subarray(i * 13, (i + 1) * 13), cleveland.y[i]!);
const sumOf = (a: { intercept: number; inputs: { contribution: number }[] }) => a.intercept + a.inputs.reduce((s, i) => s + i.contribution, 0);
const input = (a: HeartAssessment, feature: string) => a.inputs.find((i) => i.feature === feature)!;

test('a patient with every input: all observed from their records, contributions + intercept = logit, calibrated probability inside its interval', () => {
  const records = ucirow(0);
  const a = assessHeartRisk(doc, records);
  assert.deepEqual(a.inputs.map((i) => i.feature), HEART_FEATURES.map((f) => f.name));
  assert.ok(a.inputs.every((i) => i.status === 'observed'), JSON.stringify(a.inputs.filter((i) => i.status !== 'observed')));
  assert.ok(Math.abs(sumOf(a) - a.logit) < 1e-9, `${sumOf(a)} vs ${a.logit}`);
  assert.ok(Math.abs(a.probability - applyPlatt(params.calibration, a.logit)) < 1e-12, 'the probability is the calibrated logit');
  assert.ok(a.interval.low <= a.probability && a.probability <= a.interval.high, JSON.stringify(a.interval));
  assert.ok(a.interval.low > 0 && a.interval.high < 1);
  assert.equal(a.enoughData, true);
  assert.equal(a.aboveThreshold, a.probability >= a.operatingPoint.threshold);
  assert.deepEqual(a.operatingPoint, params.operatingPoint);
  // Each observed input names the record it came from; values as the record says them.
  const chol = input(a, 'chol');
  assert.deepEqual(chol.source, { resourceType: 'Observation', id: 'cleveland-0001-chol', code: { system: 'http://loinc.org', code: '2093-3', display: 'Cholesterol [Mass/volume] in Serum or Plasma' } });
  assert.equal(chol.value, cleveland.x.data[4]);
  assert.equal(input(a, 'sex').source?.resourceType, 'Patient');
  assert.equal(input(a, 'cp').value, 'typical angina');
  assert.match(a.plainLanguage, /^About \d+ in \d+ people with results like yours had narrowed heart arteries/);
});

test('missing and unreadable inputs: filled in by the model, with a note naming the code looked for; the identity still holds', () => {
  const records = ucirow(1).filter((r) => !(r.id?.endsWith('-chol') || r.id?.endsWith('-thal')));
  const ca = records.find((r) => r.id?.endsWith('-ca')) as Observation;
  ca.valueQuantity = { value: 2, unit: 'vessels', code: 'vessels' }; // a unit the model does not read
  const a = assessHeartRisk(doc, records);
  const chol = input(a, 'chol');
  assert.equal(chol.status, 'missing');
  assert.match(chol.note!, /no Observation LOINC 2093-3 .* among the records you may read; the model used the training median, [\d.]+ mg\/dL/);
  assert.equal(chol.value, params.encoder.fill[4]);
  const thal = input(a, 'thal');
  assert.equal(thal.status, 'missing');
  assert.equal(thal.value, null, 'a categorical input is counted as unknown, not guessed');
  assert.match(thal.note!, /urn:medledger:uci-heart thal .*unknown/);
  const caInput = input(a, 'ca');
  assert.equal(caInput.status, 'imputed');
  assert.equal(caInput.source?.id, ca.id);
  assert.match(caInput.note!, /cannot read \(it expects a quantity in \{count\}\)/);
  assert.ok(Math.abs(sumOf(a) - a.logit) < 1e-9);
  assert.equal(a.enoughData, true, '10 of 13 read');
  // Only the patient and a blood pressure: too little for an estimate, and the sentence says so.
  const few = assessHeartRisk(doc, ucirow(1).filter((r) => r.resourceType === 'Patient' || r.id?.endsWith('-trestbps')));
  assert.equal(few.enoughData, false);
  assert.equal(few.inputs.filter((i) => i.status === 'observed').length, 2);
  assert.match(few.plainLanguage, /not enough of your results.*at least 8 of its 13 inputs and could read 2/);
});

test('the latest reading wins; a blood-pressure panel’s systolic component is 8480-6; age from the birth date at the latest reading', () => {
  const patient: Patient = { resourceType: 'Patient', id: 'p1', gender: 'female', birthDate: '1970-06-15' };
  const panel = (id: string, date: string, systolic: number): Observation => ({
    resourceType: 'Observation', id, status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] }, subject: { reference: 'Patient/p1' }, effectiveDateTime: date,
    component: [{ code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: systolic, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } }],
  });
  const a = assessHeartRisk(doc, [patient, panel('bp-new', '2024-03-01T10:00:00Z', 151), panel('bp-old', '2023-01-01T10:00:00Z', 118)]);
  const bp = input(a, 'trestbps');
  assert.equal(bp.value, 151);
  assert.equal(bp.source?.id, 'bp-new');
  assert.equal(bp.source?.date, '2024-03-01T10:00:00Z');
  const age = input(a, 'age');
  assert.equal(age.value, 53, 'age on 2024-03-01 of someone born 1970-06-15');
  assert.equal(age.source?.resourceType, 'Patient');
  assert.equal(input(a, 'sex').value, 'female');
});

test('the card: held-out metrics with 95 % intervals around them, calibration, per-sex and per-site AUC, hashes', () => {
  const card = doc.card;
  for (const [name, m] of Object.entries(card.metrics)) assert.ok(m.low <= m.value && m.value <= m.high && m.low < m.high, `${name} ${JSON.stringify(m)}`);
  assert.ok(card.metrics.auc!.value > 0.85, `held-out AUC ${card.metrics.auc!.value}`);
  assert.equal(card.metrics.auc!.n, 920);
  const { ece, bins } = card.calibration!;
  assert.ok(ece.low <= ece.value && ece.value <= ece.high && ece.value < 0.08, JSON.stringify(ece));
  assert.equal(bins.reduce((s, b) => s + b.count, 0), 920);
  // Calibrated on held-out data: the mean estimate is close to the observed rate.
  const meanP = heart.evaluation.heldOut.reduce((s, p) => s + p, 0) / 920;
  const rate = heart.evaluation.labels.reduce((s, y) => s + y, 0) / 920;
  assert.ok(Math.abs(meanP - rate) < 0.03, `${meanP} vs ${rate}`);
  assert.deepEqual(card.operatingPoint!.sensitivity, card.metrics.sensitivity);
  assert.equal(params.operatingPoint.sensitivity, card.metrics.sensitivity!.value);
  const groups = card.subgroups.map((g) => `${g.by}:${g.group}`).sort();
  assert.deepEqual(groups, ['sex:female', 'sex:male', ...HEART_HOSPITALS.map((h) => `site:${h}`)].sort());
  for (const g of card.subgroups) assert.ok(g.auc && g.auc.low <= g.auc.value && g.auc.value <= g.auc.high, `${g.group} ${JSON.stringify(g.auc)}`);
  assert.equal(card.subgroups.filter((g) => g.by === 'site').reduce((s, g) => s + g.n, 0), 920);
  assert.equal(card.modelHash, hashServed(params));
  const addresses = HEART_HOSPITALS.flatMap((h) => Array.from({ length: heart.evaluation.site.filter((s) => s === h).length }, (_, row) => heartPatientAddress(h, row)));
  assert.equal(card.consentSetHash, consentSetHash(addresses));
  assert.ok(card.published.some((p) => /Detrano/.test(p.source) && card.metrics[p.metric]), 'published figures name a metric the card reports');
  assert.equal(card.trainingData.licence, 'CC BY 4.0');
  assert.equal(card.onChain, null, 'recorded on chain only by a running system');
});

test('similar cases: nearest first, the training row itself nearest of all, reasons in words; none without any input', () => {
  const row = 5;
  const similar = findSimilarCases(doc, ucirow(row), 5);
  assert.equal(similar.length, 5);
  assert.deepEqual(similar.map((c) => c.rank), [1, 2, 3, 4, 5]);
  for (let i = 1; i < similar.length; i++) assert.ok(similar[i]!.distance >= similar[i - 1]!.distance);
  const [first] = similar;
  const age = cleveland.x.data[row * 13]!;
  assert.equal(first!.site, 'Cleveland Clinic Foundation, Ohio');
  assert.equal(first!.hasDisease, cleveland.y[row] === 1);
  assert.equal(first!.ageBand, `${Math.floor(age / 5) * 5}–${Math.floor(age / 5) * 5 + 4}`);
  assert.ok(first!.distance < 0.5, `the row itself differs only by its age within the band: ${first!.distance}`);
  for (const c of similar) {
    assert.equal(c.reasons.length, 3);
    for (const r of c.reasons) assert.match(r, /^(same|similar) [a-z ]+.*: /);
  }
  assert.deepEqual(findSimilarCases(doc, [{ resourceType: 'Observation', id: 'x', status: 'final', code: { text: 'nothing the model reads' } } as Observation]), []);
});

test('similar cases match on sex first: a woman whose nearest cases by distance include men gets women, each saying so', () => {
  const sexAt = (i: number) => cleveland.x.data[i * 13 + 1]!;
  const everyInput = Array<boolean>(13).fill(true);
  // A woman for whom plain distance (the data are 79 % men) would have listed a man among five.
  const woman = Array.from({ length: cleveland.y.length }, (_, i) => i).find((i) => sexAt(i) === 0 && nearestCases(params, cleveland.x.data.subarray(i * 13, (i + 1) * 13), everyInput, 5).some((n) => params.cases[n.index]!.values[1] === 1));
  assert.ok(woman !== undefined, 'some woman has a man among her five nearest cases');
  const similar = findSimilarCases(doc, ucirow(woman), 5);
  assert.deepEqual(similar.map((c) => c.sex), Array(5).fill('female'));
  for (let i = 1; i < similar.length; i++) assert.ok(similar[i]!.distance >= similar[i - 1]!.distance);
  for (const c of similar) assert.equal(c.reasons[0], 'same sex: female');
  // Fewer women than asked for: men fill in after every woman, and say that they differ.
  const women = params.cases.filter((c) => c.values[1] === 0).length;
  const many = findSimilarCases(doc, ucirow(woman), women + 2);
  assert.deepEqual(many.map((c) => c.sex), [...Array(women).fill('female'), 'male', 'male']);
  assert.match(many.at(-1)!.reasons[0]!, /^different sex: male vs female/);
  // A man's cases are men.
  const man = findSimilarCases(doc, ucirow(0), 5);
  assert.equal(sexAt(0), 1);
  assert.ok(man.every((c) => c.sex === 'male' && c.reasons[0] === 'same sex: male'), JSON.stringify(man.map((c) => c.reasons)));
});

test('advice: suggestions on the largest modifiable contributions first, each citing its rule; filled-in inputs never drive one', () => {
  const records = ucirow(0).map((r) => structuredClone(r));
  const set = (suffix: string, value: number) => ((records.find((r) => r.id?.endsWith(suffix)) as Observation).valueQuantity!.value = value);
  set('-trestbps', 178);
  set('-chol', 310);
  const a = assessHeartRisk(doc, records);
  const advice = adviseHeart(doc, records, a);
  assert.ok(advice.length >= 2);
  for (const s of advice) assert.ok(s.ruleId && s.source && s.text, JSON.stringify(s));
  assert.ok(advice.some((s) => s.ruleId === 'bp.stage2') && advice.some((s) => s.ruleId === 'cholesterol.total.high'));
  const driven = advice.filter((s) => s.modelContribution !== undefined);
  assert.ok(driven.length >= 1);
  for (let i = 1; i < driven.length; i++) assert.ok(driven[i - 1]!.modelContribution! >= driven[i]!.modelContribution!);
  assert.deepEqual(advice.slice(0, driven.length), driven, 'model-driven suggestions come before the others');
  const largest = Math.max(...a.inputs.filter((i) => i.modifiable && i.contribution > 0).map((i) => i.contribution));
  assert.ok(Math.abs(driven[0]!.modelContribution! - largest) < 1e-12);
  // Without a cholesterol record, nothing is said about cholesterol.
  const noChol = records.filter((r) => !r.id?.endsWith('-chol'));
  assert.ok(!adviseHeart(doc, noChol, assessHeartRisk(doc, noChol)).some((s) => s.measure === 'totalCholesterol'));
});

/** A WDBC row as a cytology report's Observations. */
function cytology(i: number, data = loadWdbc()): Observation[] {
  return WDBC_FEATURE_NAMES.map((name, j) => ({
    resourceType: 'Observation', id: `cyto-${j}`, status: 'final', code: { coding: [wdbcCoding(name)] },
    valueQuantity: { value: data.x.data[i * 30 + j]!, unit: '1', system: 'http://unitsofmeasure.org', code: '1' },
  }));
}

test('breast cytology: the 30 features read from a report, the same explanation shape, a card with intervals', () => {
  const data = loadWdbc();
  const malignant = data.y.indexOf(1);
  const benign = data.y.indexOf(0);
  const m = assessBreastCytology(breast.document, cytology(malignant, data));
  const b = assessBreastCytology(breast.document, cytology(benign, data));
  assert.equal(m.inputs.filter((i) => i.status === 'observed').length, 30);
  assert.ok(Math.abs(sumOf(m) - m.logit) < 1e-9);
  assert.ok(m.probability > 0.5 && b.probability < 0.5, `${m.probability} / ${b.probability}`);
  assert.ok(m.interval.low <= m.probability && m.probability <= m.interval.high);
  const partial = assessBreastCytology(breast.document, cytology(benign, data).slice(0, 20));
  assert.equal(partial.enoughData, false);
  assert.match(input(partial, 'worst_area').note!, /no Observation urn:medledger:wdbc worst_area among the records you may read; the model used the training median/);
  assert.ok(Math.abs(sumOf(partial) - partial.logit) < 1e-9);
  assert.equal(findSimilarCytology(breast.document, cytology(malignant, data), 3)[0]!.hasDisease, true);
  const card = breast.document.card;
  for (const [name, e] of Object.entries(card.metrics)) assert.ok(e.low <= e.value && e.value <= e.high, name);
  assert.ok(card.metrics.auc!.value > 0.98);
  assert.equal(card.consentSetHash, consentSetHash(Array.from({ length: 569 }, (_, i) => wdbcPatientAddress(i))));
  assert.deepEqual(card.subgroups.map((g) => `${g.by}:${g.group}:${g.n}`), ['sex:female:569', 'site:University of Wisconsin Hospitals, Madison:569']);
});

test('the demo work-ups: St Mary’s has every heart input for Alice and some others, and Alice’s cytology report; valid FHIR; the generator’s own records unchanged', () => {
  const options = { seed: 'medledger-demo-1', count: 12, now: '2026-06-01T12:00:00Z' };
  const patients = generatePatients(options);
  const before = JSON.stringify(patients);
  const extra = modelWorkups(patients, 'st-marys', options.seed);
  assert.equal(JSON.stringify(patients), before, 'nothing generated is changed');
  assert.deepEqual(modelWorkups(patients, 'city-lab', options.seed), []);
  assert.deepEqual(modelWorkups(generatePatients(options), 'st-marys', options.seed), extra, 'deterministic');
  loadDefinitions();
  for (const r of extra) assert.doesNotThrow(() => validate(r), `${r.resourceType}/${r.id}`);
  const recordsOf = (i: number) => {
    const id = patientIdAt('st-marys', String(100001 + i));
    return [...patients[i]!.byProvider['st-marys'], ...extra.filter((r) => (r as Observation).subject?.reference === `Patient/${id}`)];
  };
  const alice = assessHeartRisk(doc, recordsOf(0));
  assert.equal(alice.inputs.filter((i) => i.status === 'observed').length, 13);
  assert.equal(input(alice, 'trestbps').source?.code?.code, '8480-6', 'the vital-signs panel’s systolic component');
  assert.match(alice.plainLanguage, /^About 1 in 5 people/, 'Alice’s fixed work-up gives the middling estimate the README names');
  const worked = patients.map((_, i) => assessHeartRisk(doc, recordsOf(i)).enoughData).filter(Boolean).length;
  assert.ok(worked >= 2 && worked < patients.length, `${worked} of ${patients.length} have a work-up`);
  const cyto = assessBreastCytology(breast.document, recordsOf(0));
  assert.equal(cyto.inputs.filter((i) => i.status === 'observed').length, 30);
  assert.ok(cyto.probability < 0.5, `Alice’s aspirate is benign-looking: ${cyto.probability}`);
  assert.equal(assessBreastCytology(breast.document, recordsOf(1)).enoughData, false, 'only Alice has a cytology report');
});

test('the shipped artefacts (data/models) are what training gives: the same card and parameters, the first refits the same', () => {
  // Trained here with fewer bootstrap refits (cheaper); the refits are drawn one after another from one seeded stream.
  for (const trained of [heart.document, breast.document]) {
    const shipped = loadServedArtefact(trained.card.id as 'heart-risk')!;
    const { refits, ...rest } = trained.parameters as ServedLogistic;
    const { refits: shippedRefits, ...shippedRest } = shipped.parameters as ServedLogistic;
    assert.deepEqual(rest, shippedRest, trained.card.id);
    assert.deepEqual(refits, shippedRefits.slice(0, refits.length), trained.card.id);
    assert.deepEqual({ ...trained.card, modelHash: shipped.card.modelHash }, shipped.card, trained.card.id);
  }
});

test('the modules that run in the browser import nothing of Node and never the data folder', () => {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(/^(?:import|export)[^'"]*?from\s+'([^']+)'/gm)) {
      assert.ok(!spec!.startsWith('node:') && !['fs', 'path', 'crypto', 'zlib'].includes(spec!), `${file} imports ${spec}`);
      if (spec!.startsWith('.')) visit(resolve(dirname(file), spec!.replace(/\.js$/, '.ts')));
    }
  };
  for (const entry of ['heart/assess.ts', 'breast/assess.ts', 'served-model.ts']) visit(join(import.meta.dirname, '..', 'src', 'ml', entry));
  assert.ok(seen.size >= 10, [...seen].join('\n'));
  for (const file of seen) assert.doesNotMatch(file, /data-dir\.ts$|[/\\]data\.ts$|uci-fhir\.ts$/, file);
});
