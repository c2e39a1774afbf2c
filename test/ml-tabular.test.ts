/**
 * Tabular ML (src/ml): data loaders on the real UCI Heart Disease and WDBC files, metrics against
 * hand-computed values, ridge logistic regression, exact kNN, lifestyle rules, de-identification,
 * the feature view, federated averaging and the consent-set hash. Quick: single folds and small
 * runs; the full cross-validation and timings are in bench/ml-tabular.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Resource } from '@medplum/fhirtypes';
import { encodeAbiParameters, getAddress, keccak256 } from 'viem';
import { consentSetHash } from '../src/ml/consent-set.js';
import { HEART_COUNTS, HEART_FEATURES, HEART_HOSPITALS, loadHeartDisease, loadHeartDiseaseSites, loadWdbc, type TabularDataSet } from '../src/ml/data.js';
import { AGE_BAND_EXTENSION, dateShiftDays, deidentifyResource, deidentifyResources, shiftDate } from '../src/ml/deidentify.js';
import { buildFeatureRows, CARDIO_VIEW } from '../src/ml/features.js';
import { fedTrain, type RoundReport, type Site } from '../src/ml/federated.js';
import { createKnnIndex, nearestNeighbours } from '../src/ml/knn.js';
import { LIFESTYLE_RULES, MODEL_RULE_ID, suggestLifestyle, type LifestyleRecord } from '../src/ml/lifestyle.js';
import { explainPrediction, fitPlattScaling, fitRidgeLogistic, hashModel, predictLogit, predictProba, trainLogistic } from '../src/ml/logistic.js';
import { rowOf, stackRows, takeLabels, takeRows, type Matrix } from '../src/ml/matrix.js';
import { accuracy, auc, brierScore, reliability, stratifiedKFold, stratifiedSplit } from '../src/ml/metrics.js';
import { normalDraw, seededRandom } from '../src/random.js';

// ---------------------------------------------------------------------------------------------
// Data

test('UCI heart: row and class counts per hospital, label num > 0, 0 cholesterol read as missing', () => {
  const sites = loadHeartDiseaseSites();
  const rows = HEART_HOSPITALS.map((h) => sites[h].x.rows);
  assert.deepEqual(rows, [303, 294, 123, 200]);
  for (const h of HEART_HOSPITALS) {
    assert.equal(sites[h].x.cols, 13);
    assert.equal(sites[h].y.reduce((a, b) => a + b, 0), HEART_COUNTS[h].positives, h);
  }
  const cleveland = sites.cleveland;
  // First Cleveland row: 63.0,1.0,1.0,145.0,233.0,1.0,2.0,150.0,0.0,2.3,3.0,0.0,6.0,0
  assert.deepEqual([...rowOf(cleveland.x, 0)], [63, 1, 1, 145, 233, 1, 2, 150, 0, 2.3, 3, 0, 6]);
  assert.equal(cleveland.y[0], 0);
  assert.equal(cleveland.y[1], 1); // num = 2
  const missing = (set: TabularDataSet, feature: string) => {
    const j = set.features.findIndex((f) => f.name === feature);
    let count = 0;
    for (let i = 0; i < set.x.rows; i++) if (Number.isNaN(set.x.data[i * set.x.cols + j]!)) count++;
    return count;
  };
  assert.equal(missing(cleveland, 'ca'), 4);
  assert.equal(missing(cleveland, 'thal'), 2);
  assert.equal(missing(sites.hungarian, 'ca'), 291);
  assert.equal(missing(sites.switzerland, 'chol'), 123); // all zero in the file
  // Swiss `.7`-style decimals parse: first row oldpeak .7
  assert.equal(sites.switzerland.x.data[9], 0.7);
});

test('WDBC: 569 rows, 30 features, 212 malignant', () => {
  const wdbc = loadWdbc();
  assert.equal(wdbc.x.rows, 569);
  assert.equal(wdbc.x.cols, 30);
  assert.equal(wdbc.y.reduce((a, b) => a + b, 0), 212);
  assert.equal(wdbc.features[0]!.name, 'mean_radius');
  assert.equal(wdbc.x.data[0], 17.99);
  assert.equal(wdbc.y[0], 1);
});

test('a missing data folder fails with a message that says where the data belongs', () => {
  const empty = mkdtempSync(join(tmpdir(), 'ml-nodata-'));
  assert.throws(() => loadWdbc(empty), /data folder .*wdbc is missing.*vendored in the repository as data\/wdbc \(see data\/README\.md\)/);
  assert.throws(() => loadHeartDisease('va', empty), /as data\/uci-heart/);
  rmSync(empty, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Metrics

test('AUC by ranks matches hand-computed values, ties counting one half', () => {
  // Perfect separation and its reverse.
  assert.equal(auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]), 1);
  assert.equal(auc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]), 0);
  // Pairs (pos, neg): (0.35 vs 0.1 ✓, vs 0.4 ✗), (0.8 vs 0.1 ✓, vs 0.4 ✓) → 3/4.
  assert.equal(auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
  // All scores tied: every pair is a tie → 1/2.
  assert.equal(auc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1]), 0.5);
  // One tie between classes: pos {0.5, 0.9}, neg {0.5, 0.2}: pairs 0.5/0.5 = ½, 0.5>0.2, 0.9>0.5, 0.9>0.2 → 3.5/4.
  assert.equal(auc([0.5, 0.9, 0.5, 0.2], [1, 1, 0, 0]), 0.875);
  // 3 positives, 2 negatives with a three-way tie at 0.6: pos {0.6, 0.6, 0.7}, neg {0.6, 0.1}:
  // 0.6 vs 0.6 = ½ (twice), 0.6 vs 0.1 = 1 (twice), 0.7 beats both = 2 → 5/6.
  assert.equal(auc([0.6, 0.6, 0.7, 0.6, 0.1], [1, 1, 1, 0, 0]), 5 / 6);
  assert.throws(() => auc([0.1, 0.2], [1, 1]), /positive and one negative/);
});

test('accuracy, Brier score and reliability bins', () => {
  assert.equal(accuracy([0.2, 0.6, 0.5, 0.49], [0, 1, 1, 1]), 0.75);
  assert.equal(brierScore([1, 0, 0.5], [1, 0, 1]), 0.25 / 3);
  const { bins, expectedCalibrationError } = reliability([0.05, 0.05, 0.95, 0.95], [0, 1, 1, 1], 10);
  assert.equal(bins.length, 2);
  assert.deepEqual(bins.map((b) => [b.count, b.observedRate]), [[2, 0.5], [2, 1]]);
  assert.ok(Math.abs(expectedCalibrationError - (0.5 * 0.45 + 0.5 * 0.05)) < 1e-12);
});

test('stratified k-fold: every row tested once, classes spread evenly, same seed same folds', () => {
  const labels = Array.from({ length: 103 }, (_, i) => (i % 3 === 0 ? 1 : 0)); // 35 positives
  const folds = stratifiedKFold(labels, 5, 42);
  const seen = folds.flatMap((f) => f.test).sort((a, b) => a - b);
  assert.deepEqual(seen, labels.map((_, i) => i));
  for (const f of folds) {
    assert.equal(f.train.length + f.test.length, labels.length);
    const positives = f.test.filter((i) => labels[i]).length;
    assert.ok(positives === 7, `fold has ${positives} positives`);
    assert.ok(f.test.length === 20 || f.test.length === 21);
  }
  assert.deepEqual(stratifiedKFold(labels, 5, 42), folds);
  assert.notDeepEqual(stratifiedKFold(labels, 5, 43), folds);
  const split = stratifiedSplit(labels, 0.25, 1);
  assert.equal(split.test.filter((i) => labels[i]).length, 9); // round(35 × 0.25)
});

// ---------------------------------------------------------------------------------------------
// Logistic regression

function synthetic(n: number, weights: number[], intercept: number, seed: number): { x: Matrix; y: Uint8Array } {
  const random = seededRandom(seed);
  const d = weights.length;
  const data = new Float64Array(n * d);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let eta = intercept;
    for (let j = 0; j < d; j++) {
      const v = normalDraw(random);
      data[i * d + j] = v;
      eta += weights[j]! * v;
    }
    y[i] = random() < 1 / (1 + Math.exp(-eta)) ? 1 : 0;
  }
  return { x: { data, rows: n, cols: d }, y };
}

test('ridge logistic regression recovers the direction that generated the labels', () => {
  const truth = [2, -1, 0, 0.5];
  const { x, y } = synthetic(4000, truth, 0.5, 7);
  const fit = fitRidgeLogistic(x, y, { lambda: 0.01 });
  assert.ok(fit.converged);
  const dot = fit.coefficients.reduce((s, c, j) => s + c * truth[j]!, 0);
  const cosine = dot / Math.hypot(...fit.coefficients) / Math.hypot(...truth);
  assert.ok(cosine > 0.99, `cosine ${cosine}`);
  fit.coefficients.forEach((c, j) => assert.ok(Math.abs(c - truth[j]!) < 0.2, `β${j + 1} = ${c}, true ${truth[j]}`));
  assert.ok(Math.abs(fit.intercept - 0.5) < 0.2, `intercept ${fit.intercept}`);
  // A larger λ shrinks every coefficient towards zero.
  const shrunk = fitRidgeLogistic(x, y, { lambda: 2000 });
  assert.ok(Math.hypot(...shrunk.coefficients) < 0.6 * Math.hypot(...fit.coefficients));
});

test('Cleveland, one stratified fold: AUC well above chance; explanations add up to the prediction', () => {
  const cleveland = loadHeartDisease('cleveland');
  const fold = stratifiedKFold(cleveland.y, 5, 1)[0]!;
  const model = trainLogistic({ features: cleveland.features, x: takeRows(cleveland.x, fold.train), y: takeLabels(cleveland.y, fold.train) });
  const testX = takeRows(cleveland.x, fold.test);
  const testY = takeLabels(cleveland.y, fold.test);
  const p = predictProba(model, testX);
  const foldAuc = auc(p, testY);
  assert.ok(foldAuc > 0.8, `fold AUC ${foldAuc}`);
  assert.ok(accuracy(p, testY) > 0.7);
  // One-hot columns for cp, restecg, slope, thal.
  assert.ok(model.encoder.columns.some((c) => c.name === 'cp=4'));
  assert.equal(model.encoder.columns.length, 9 + 4 + 3 + 3 + 3);

  const explanation = explainPrediction(model, rowOf(testX, 0));
  const sum = explanation.intercept + explanation.features.reduce((s, f) => s + f.contribution, 0);
  assert.ok(Math.abs(sum - explanation.logit) < 1e-9);
  assert.ok(Math.abs(explanation.probability - p[0]!) < 1e-12);
  assert.ok(Math.abs(explanation.logit - predictLogit(model, testX)[0]!) < 1e-12);
  const sizes = explanation.features.map((f) => Math.abs(f.contribution));
  assert.deepEqual(sizes, [...sizes].sort((a, b) => b - a));
  assert.deepEqual(explanation.features.filter((f) => f.modifiable).map((f) => f.feature).sort(), ['chol', 'fbs', 'trestbps']);
  // cp contributes through its four one-hot columns together.
  assert.equal(explanation.features.find((f) => f.feature === 'cp')!.columns.length, 4);

  // Missing values are filled, not fatal; the hash is stable and depends on the coefficients.
  const withMissing = Float64Array.from(rowOf(testX, 0)).fill(NaN, 11);
  assert.ok(Number.isFinite(explainPrediction(model, withMissing).probability));
  assert.equal(hashModel(model), hashModel(structuredClone(model)));
  assert.notEqual(hashModel(model), hashModel({ ...model, intercept: model.intercept + 1e-9 }));
});

test('Platt scaling undoes a known miscalibration', () => {
  // Labels drawn from σ(2·s − 1): Platt on the raw s should find a ≈ 2, b ≈ −1.
  const random = seededRandom(3);
  const s = Array.from({ length: 5000 }, () => 3 * normalDraw(random));
  const y = s.map((v) => (random() < 1 / (1 + Math.exp(-(2 * v - 1))) ? 1 : 0));
  const platt = fitPlattScaling(s, y);
  assert.ok(Math.abs(platt.a - 2) < 0.25 && Math.abs(platt.b + 1) < 0.25, JSON.stringify(platt));
});

// ---------------------------------------------------------------------------------------------
// kNN

test('kNN returns the true nearest neighbours (brute-force sort), ties in row order', () => {
  const random = seededRandom(11);
  const n = 3000;
  const d = 13;
  const data = new Float32Array(n * d);
  for (let i = 0; i < data.length; i++) data[i] = normalDraw(random);
  // Duplicate rows make exact distance ties.
  data.copyWithin(5 * d, 100 * d, 101 * d);
  data.copyWithin(2000 * d, 100 * d, 101 * d);
  const index = createKnnIndex(data, d);
  const queries = [Float64Array.from(data.subarray(100 * d, 101 * d)), ...Array.from({ length: 20 }, () => Float64Array.from({ length: d }, () => normalDraw(random)))];
  for (const q of queries) {
    const brute = Array.from({ length: n }, (_, r) => {
      let s = 0;
      for (let j = 0; j < d; j++) s += (data[r * d + j]! - q[j]!) ** 2;
      return { r, s };
    }).sort((a, b) => a.s - b.s || a.r - b.r);
    const got = nearestNeighbours(index, q, 10);
    assert.deepEqual([...got.indices], brute.slice(0, 10).map((b) => b.r));
    got.distances.forEach((dist, t) => assert.ok(Math.abs(dist - Math.sqrt(brute[t]!.s)) < 1e-9));
  }
  assert.deepEqual([...nearestNeighbours(index, queries[0]!, 3).indices], [5, 100, 2000]);
  assert.equal(nearestNeighbours(createKnnIndex(new Float64Array([1, 2, 3]), 1), [0], 10).indices.length, 3);
  assert.throws(() => createKnnIndex(new Float64Array([1, NaN]), 1), /not finite/);
});

// ---------------------------------------------------------------------------------------------
// Lifestyle rules

const ids = (record: LifestyleRecord) => suggestLifestyle(record).map((s) => s.ruleId);
const mmHg = (value: number) => ({ value, unit: 'mm[Hg]' });

test('lifestyle: blood pressure categories at the ACC/AHA 2017 thresholds', () => {
  assert.deepEqual(ids({ systolicBp: mmHg(119), diastolicBp: mmHg(79) }), []);
  assert.deepEqual(ids({ systolicBp: mmHg(120), diastolicBp: mmHg(79) }), ['bp.elevated']);
  assert.deepEqual(ids({ systolicBp: mmHg(129), diastolicBp: mmHg(79) }), ['bp.elevated']);
  assert.deepEqual(ids({ systolicBp: mmHg(130), diastolicBp: mmHg(70) }), ['bp.stage1']);
  assert.deepEqual(ids({ systolicBp: mmHg(118), diastolicBp: mmHg(80) }), ['bp.stage1']);
  assert.deepEqual(ids({ systolicBp: mmHg(139), diastolicBp: mmHg(89) }), ['bp.stage1']);
  assert.deepEqual(ids({ systolicBp: mmHg(140), diastolicBp: mmHg(70) }), ['bp.stage2']);
  assert.deepEqual(ids({ systolicBp: { value: 125, unit: 'mmHg' }, diastolicBp: { value: 90, unit: 'mmHg' } }), ['bp.stage2']);
  const [s] = suggestLifestyle({ systolicBp: mmHg(150), diastolicBp: mmHg(95) });
  assert.match(s!.source, /ACC\/AHA 2017/);
  assert.match(s!.text, /150\/95 mm Hg/);
});

test('lifestyle: BMI, cholesterol, HbA1c, glucose and smoking thresholds, with unit conversion', () => {
  const kgm2 = (value: number) => ({ bmi: { value, unit: 'kg/m2' } });
  assert.deepEqual(ids(kgm2(24.9)), []);
  assert.deepEqual(ids(kgm2(25)), ['bmi.overweight']);
  assert.deepEqual(ids(kgm2(30)), ['bmi.obesity']);
  // 95 kg at 1.78 m = 30.0 kg/m².
  assert.deepEqual(ids({ weight: { value: 95.1, unit: 'kg' }, height: { value: 178, unit: 'cm' } }), ['bmi.obesity']);
  const chol = (value: number, unit = 'mg/dL') => ({ totalCholesterol: { value, unit } });
  assert.deepEqual(ids(chol(199)), []);
  assert.deepEqual(ids(chol(200)), ['cholesterol.total.borderline']);
  assert.deepEqual(ids(chol(240)), ['cholesterol.total.high']);
  assert.deepEqual(ids(chol(5.2, 'mmol/L')), ['cholesterol.total.borderline']); // 201 mg/dL
  assert.deepEqual(ids({ ldlCholesterol: { value: 129, unit: 'mg/dL' } }), []);
  assert.deepEqual(ids({ ldlCholesterol: { value: 130, unit: 'mg/dL' } }), ['cholesterol.ldl.borderline']);
  assert.deepEqual(ids({ ldlCholesterol: { value: 160, unit: 'mg/dL' } }), ['cholesterol.ldl.high']);
  const a1c = (value: number, unit = '%') => ({ hba1c: { value, unit } });
  assert.deepEqual(ids(a1c(5.6)), []);
  assert.deepEqual(ids(a1c(5.7)), ['hba1c.prediabetes']);
  assert.deepEqual(ids(a1c(6.4)), ['hba1c.prediabetes']);
  assert.deepEqual(ids(a1c(6.5)), ['hba1c.diabetes']);
  assert.deepEqual(ids(a1c(38, 'mmol/mol')), []); // 5.63 %
  assert.deepEqual(ids(a1c(39, 'mmol/mol')), ['hba1c.prediabetes']); // 5.72 %
  assert.deepEqual(ids(a1c(48, 'mmol/mol')), ['hba1c.diabetes']); // 6.54 %
  assert.deepEqual(ids({ fastingGlucose: { value: 99, unit: 'mg/dL' } }), []);
  assert.deepEqual(ids({ fastingGlucose: { value: 100, unit: 'mg/dL' } }), ['glucose.fasting.prediabetes']);
  assert.deepEqual(ids({ fastingGlucose: { value: 7.0, unit: 'mmol/L' } }), ['glucose.fasting.diabetes']);
  assert.deepEqual(ids({ smoker: false }), []);
  assert.deepEqual(ids({ smoker: true }), ['smoking.current']);
  assert.throws(() => suggestLifestyle(chol(5, 'g/L')), /unit "g\/L" not supported/);
  for (const rule of LIFESTYLE_RULES) assert.ok(rule.id && rule.source.length > 10, rule.id);
});

test('lifestyle: the model’s largest modifiable contributions come first; a driver under the threshold still gets a cited suggestion', () => {
  const record: LifestyleRecord = { systolicBp: mmHg(135), diastolicBp: mmHg(85), totalCholesterol: { value: 210, unit: 'mg/dL' }, smoker: true };
  const contributions = [
    { feature: 'age', contribution: 0.9, modifiable: false },
    { feature: 'chol', contribution: 0.6, modifiable: true },
    { feature: 'trestbps', contribution: 0.1, modifiable: true },
    { feature: 'fbs', contribution: 0.3, modifiable: true, description: 'fasting blood sugar' },
  ];
  const suggestions = suggestLifestyle(record, { contributions });
  assert.deepEqual(
    suggestions.map((s) => s.ruleId),
    ['cholesterol.total.borderline', MODEL_RULE_ID, 'bp.stage1', 'smoking.current'],
  );
  assert.equal(suggestions[0]!.modelContribution, 0.6);
  assert.match(suggestions[0]!.text, /raised the risk \(by 0\.60 log-odds\)/);
  assert.match(suggestions[1]!.text, /fasting blood sugar/);
  assert.match(suggestions[1]!.source, /risk model/);
  assert.ok(suggestions.every((s) => s.ruleId && s.source));
  // Non-modifiable age never becomes a suggestion.
  assert.ok(!suggestions.some((s) => /\bage\b/.test(s.text)));
});

// ---------------------------------------------------------------------------------------------
// De-identification and the feature view

const SALT = 'test-salt-not-secret';
const AS_OF = new Date('2024-06-01T00:00:00Z');

function record(): Resource[] {
  return [
    {
      resourceType: 'Patient',
      id: 'jane',
      meta: { versionId: '3', lastUpdated: '2024-01-01T00:00:00Z', security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'N' }] },
      text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Jane Q. Doe</div>' },
      identifier: [{ system: 'urn:oid:1.2.36.146.595.217.0.1', value: 'MRN-12345' }],
      name: [{ family: 'Doe', given: ['Jane', 'Quinn'] }],
      telecom: [{ system: 'phone', value: '555-0100' }, { system: 'email', value: 'jane@example.org' }],
      gender: 'female',
      birthDate: '1961-05-20',
      address: [{ line: ['12 Elm Street'], city: 'Springfield', postalCode: '62704', state: 'IL', country: 'US' }],
      photo: [{ contentType: 'image/png', data: 'iVBORw0KGgo=' }],
      extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName', valueString: 'Smith' }],
    },
    {
      resourceType: 'Observation',
      id: 'bp-1',
      identifier: [{ system: 'urn:lab', value: 'ACC-777' }],
      status: 'final',
      subject: { reference: 'Patient/jane', display: 'Jane Doe' },
      performer: [{ reference: 'Practitioner/dr-who', display: 'Dr. John Smith' }],
      code: { coding: [{ system: 'http://loinc.org', code: '85354-9', display: 'Blood pressure panel' }], text: 'BP taken by John at home' },
      effectiveDateTime: '2023-03-04T10:30:00+01:00',
      issued: '2023-03-04T11:00:00.000Z',
      component: [
        { code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: 142, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
        { code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] }, valueQuantity: { value: 91, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
      ],
      note: [{ authorString: 'Nurse Ratched', text: 'Jane mentioned her husband Bob at 12 Elm Street', time: '2023-03-04' }],
    },
    {
      resourceType: 'Observation',
      id: 'chol-old',
      status: 'final',
      subject: { reference: 'Patient/jane' },
      code: { coding: [{ system: 'http://loinc.org', code: '2093-3' }] },
      effectiveDateTime: '2021-02-01',
      valueQuantity: { value: 250, unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' },
    },
    {
      resourceType: 'Observation',
      id: 'chol-new',
      status: 'final',
      subject: { reference: 'Patient/jane' },
      code: { coding: [{ system: 'http://loinc.org', code: '2093-3' }] },
      effectiveDateTime: '2023-02-01',
      valueQuantity: { value: 5.5, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' },
    },
    {
      resourceType: 'Condition',
      id: 'dm',
      subject: { reference: 'Patient/jane' },
      clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
      code: { coding: [{ system: 'http://snomed.info/sct', code: '44054006', display: 'Diabetes mellitus type 2' }] },
      onsetDateTime: '2015-07',
    },
    { resourceType: 'Patient', id: 'old-tom', gender: 'male', birthDate: '1930-02-02' },
    {
      resourceType: 'Condition',
      id: 'htn-resolved',
      subject: { reference: 'Patient/old-tom' },
      clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'resolved' }] },
      code: { coding: [{ system: 'http://snomed.info/sct', code: '38341003' }] },
      onsetDateTime: '2001-01-01',
    },
  ] as Resource[];
}

test('de-identification removes names, identifiers, contact details and notes; keeps coded displays', () => {
  const input = record();
  const before = JSON.stringify(input);
  const out = deidentifyResources(input, { salt: SALT, asOf: AS_OF });
  assert.equal(JSON.stringify(input), before, 'input unchanged');
  const text = JSON.stringify(out);
  for (const secret of ['Jane', 'Doe', 'Quinn', 'MRN-12345', '555-0100', 'jane@example.org', 'Elm Street', 'Springfield', '62704', 'Smith', 'ACC-777', 'Bob', 'husband', 'iVBORw0KGgo', 'dr-who', 'Ratched', '"jane"', 'Patient/jane', 'old-tom', '2024-01-01']) {
    assert.ok(!text.includes(secret), `output still contains ${secret}`);
  }
  const patient = out[0] as Resource & Record<string, unknown>;
  assert.deepEqual(patient.address, [{ state: 'IL', country: 'US' }]);
  assert.deepEqual(patient.meta, { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'N' }] });
  assert.equal(patient.text, undefined);
  assert.equal(patient.extension, undefined);
  assert.match(patient.id!, /^[0-9a-f]{32}$/);
  const bp = out[1] as Resource & Record<string, any>;
  assert.equal(bp.note, undefined);
  assert.equal(bp.code.text, undefined);
  assert.equal(bp.code.coding[0].display, 'Blood pressure panel');
  assert.deepEqual(Object.keys(bp.subject), ['reference']);
  assert.equal(bp.subject.reference, `Patient/${patient.id}`);
  assert.equal((out[4] as any).code.coding[0].display, 'Diabetes mellitus type 2');

  // With allowFreeText, notes and narrative stay (identifiers still go).
  const withText = deidentifyResource(input[1]!, { salt: SALT, asOf: AS_OF, allowFreeText: true }) as any;
  assert.match(withText.note[0].text, /husband/);
  assert.equal(withText.note[0].authorString, undefined);
  assert.equal(withText.note[0].time, shiftDate('2023-03-04', dateShiftDays(SALT, 'jane')));
  assert.equal(withText.code.text, 'BP taken by John at home');
  assert.equal(withText.identifier, undefined);
  assert.equal(withText.performer[0].display, undefined);
});

test('de-identification shifts every date of a patient by the same keyed offset and caps ages at 90', () => {
  const out = deidentifyResources(record(), { salt: SALT, asOf: AS_OF }) as any[];
  const jane = dateShiftDays(SALT, 'jane');
  assert.ok(jane !== 0 && Math.abs(jane) <= 180);
  assert.equal(dateShiftDays(SALT, 'jane'), jane, 'deterministic');
  assert.notEqual(dateShiftDays('another-salt', 'jane'), jane);
  const days = (a: string, b: string) => Math.round((Date.parse(b) - Date.parse(a)) / 86_400_000);
  assert.equal(days('1961-05-20', out[0].birthDate), jane);
  assert.equal(out[1].effectiveDateTime, shiftDate('2023-03-04T10:30:00+01:00', jane));
  assert.match(out[1].effectiveDateTime, /^\d{4}-\d{2}-\d{2}T10:30:00\+01:00$/);
  assert.equal(days('2023-03-04T11:00:00.000Z', out[1].issued), jane);
  assert.equal(days('2021-02-01', out[2].effectiveDateTime), jane);
  assert.equal(days('2023-02-01', out[3].effectiveDateTime), jane);
  // Partial date keeps its precision.
  assert.match(out[4].onsetDateTime, /^\d{4}-\d{2}$/);
  assert.equal(out[4].onsetDateTime, shiftDate('2015-07', jane));
  // Another patient, another offset (from the same salt).
  assert.equal(days('2001-01-01', out[6].onsetDateTime), dateShiftDays(SALT, 'old-tom'));
  // Tom is 94 at asOf: no birth date, an age band instead.
  assert.equal(out[5].birthDate, undefined);
  assert.deepEqual(out[5].extension, [{ url: AGE_BAND_EXTENSION, valueString: '90+' }]);
  assert.equal(shiftDate('2020', 10), '2020');
  assert.equal(shiftDate('2020-12-31', 1), '2021-01-01');
  assert.equal(shiftDate('2020-03-01', -1), '2020-02-29');
  assert.throws(() => deidentifyResource({ resourceType: 'Observation', status: 'final', code: {} } as Resource, { salt: SALT }), /whose Observation/);
});

test('feature view: latest LOINC value per patient, active SNOMED conditions as 0/1, age capped at 90', () => {
  const rows = buildFeatureRows(record(), CARDIO_VIEW, { asOf: AS_OF });
  assert.deepEqual(rows.patients, ['jane', 'old-tom']);
  const get = (patient: string, column: string) => rows.x.data[rows.patients.indexOf(patient) * rows.x.cols + rows.columns.indexOf(column)];
  assert.equal(get('jane', 'age'), 63);
  assert.equal(get('jane', 'sex'), 0);
  assert.equal(get('jane', 'systolicBp'), 142);
  assert.equal(get('jane', 'diastolicBp'), 91);
  // The newer cholesterol is in mmol/L, not the column's mg/dL: skipped and reported, the older one stays.
  assert.equal(get('jane', 'totalCholesterol'), 250);
  assert.equal(rows.skipped.length, 1);
  assert.match(rows.skipped[0]!, /totalCholesterol: 5\.5 mmol\/L/);
  assert.equal(get('jane', 'diabetes'), 1);
  assert.equal(get('old-tom', 'age'), 90);
  assert.equal(get('old-tom', 'hypertension'), 0, 'resolved condition');
  assert.ok(Number.isNaN(get('old-tom', 'systolicBp')!));
  // The same view over de-identified resources gives the same values under pseudonyms.
  const deid = buildFeatureRows(deidentifyResources(record(), { salt: SALT, asOf: AS_OF }), CARDIO_VIEW, { asOf: AS_OF });
  assert.equal(deid.x.rows, 2);
  assert.ok(!deid.patients.includes('jane'));
  const dget = (row: number, column: string) => deid.x.data[row * deid.x.cols + deid.columns.indexOf(column)]!;
  const janeRow = [0, 1].find((i) => dget(i, 'sex') === 0)!;
  assert.ok(Math.abs(dget(janeRow, 'age') - 63) <= 1, 'age moves at most a year with the shift');
  assert.equal(dget(janeRow, 'systolicBp'), 142);
  assert.equal(dget(1 - janeRow, 'age'), 90);
});

// ---------------------------------------------------------------------------------------------
// Federated averaging

test('FedAvg over the 4 UCI hospitals gets within 0.02 AUC of the central model; rounds are reported with a model hash', async () => {
  const sites = loadHeartDiseaseSites();
  const train: Site[] = [];
  const tests: Matrix[] = [];
  const testLabels: number[] = [];
  for (const h of HEART_HOSPITALS) {
    const split = stratifiedSplit(sites[h].y, 0.25, 5);
    train.push({ name: h, x: takeRows(sites[h].x, split.train), y: takeLabels(sites[h].y, split.train) });
    tests.push(takeRows(sites[h].x, split.test));
    testLabels.push(...takeLabels(sites[h].y, split.test));
  }
  const testX = stackRows(tests);
  const options = { features: HEART_FEATURES, lambda: 3, missingIndicatorShare: 0.1 };
  const central = trainLogistic({ features: HEART_FEATURES, x: stackRows(train.map((s) => s.x)), y: Uint8Array.from(train.flatMap((s) => [...s.y])) }, options);
  const reports: RoundReport[] = [];
  const { model } = await fedTrain(train, { ...options, rounds: 30 }, (r) => {
    reports.push(r);
  });
  const centralAuc = auc(predictProba(central, testX), testLabels);
  const fedAuc = auc(predictProba(model, testX), testLabels);
  assert.ok(centralAuc > 0.8, `central AUC ${centralAuc}`);
  assert.ok(Math.abs(fedAuc - centralAuc) < 0.02, `federated ${fedAuc} vs central ${centralAuc}`);
  assert.deepEqual(reports.map((r) => r.round), Array.from({ length: 30 }, (_, i) => i + 1));
  assert.equal(reports.at(-1)!.modelHash, hashModel(model));
  assert.match(reports[0]!.modelHash, /^0x[0-9a-f]{64}$/);
  assert.notEqual(reports[0]!.modelHash, reports[1]!.modelHash);
  assert.deepEqual(reports[0]!.sites.map((s) => s.name), [...HEART_HOSPITALS]);
  assert.equal(reports[0]!.sites.reduce((n, s) => n + s.rows, 0), train.reduce((n, s) => n + s.x.rows, 0));
  // The shared standardisation equals the central one computed on the pooled rows (mean imputation aside).
  const pooledMean = trainLogistic({ features: HEART_FEATURES, x: stackRows(train.map((s) => s.x)), y: Uint8Array.from(train.flatMap((s) => [...s.y])) }, { ...options, impute: 'mean' });
  model.encoder.mean.forEach((m, c) => assert.ok(Math.abs(m - pooledMean.encoder.mean[c]!) < 1e-9));
  model.encoder.scale.forEach((s, c) => assert.ok(Math.abs(s - pooledMean.encoder.scale[c]!) < 1e-9));
});

// ---------------------------------------------------------------------------------------------
// Consent set

test('consentSetHash is independent of order, case and duplicates, and matches abi.encode of the sorted set', () => {
  const a = '0x52908400098527886E0F7030069857D2E4169EE7';
  const b = '0x8617E340B3D01FA5F11F306F4090FD50E238070D';
  const c = '0xde709f2102306220921060314715629080e2fb77';
  const h = consentSetHash([a, b, c]);
  assert.equal(consentSetHash([c, a, b]), h);
  assert.equal(consentSetHash([b.toLowerCase(), c.toUpperCase().replace('0X', '0x'), a, a]), h);
  assert.notEqual(consentSetHash([a, b]), h);
  const sorted = [a, b, c].map((x) => x.toLowerCase()).sort().map((x) => getAddress(x));
  assert.equal(h, keccak256(encodeAbiParameters([{ type: 'address[]' }], [sorted])));
  assert.throws(() => consentSetHash(['0x1234']), /not an address/);
});
