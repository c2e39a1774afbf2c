/**
 * `medledger ml risk|similar|advice|card` end to end (issue 15 §6): the real binary beside a running
 * demo system, reading as St Mary's (its own records), as Carol (exactly what Alice's grant returns,
 * nothing after the revoke), tables and --json, the card with its on-chain record, every served model's card, and a one-line
 * error with exit 1 for an unknown patient, a patient with no readable records, an unknown model.
 */
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { tempDir } from '../bench/harness/chain.js';
import { cliEnv, REPO, startCli, cliSucceeds, cliFailsInOneLine } from './helpers/cli.js';

const dataDir = tempDir('medledger-cli-ml-');
const env = cliEnv(dataDir);
let started: Awaited<ReturnType<typeof startCli>>;

type Json = Record<string, any>;

const ok = (args: string[]) => cliSucceeds(args, env);

const fails = (args: string[], message: RegExp) => cliFailsInOneLine(args, env, message);

const contributionsAddUp = (a: Json) => Math.abs(a.intercept + a.inputs.reduce((s: number, i: Json) => s + i.contribution, 0) - a.logit) < 1e-9;

before(async () => {
  started = await startCli(env, ['--patients', '2']);
});
after(async () => {
  await started?.stop('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
});

test('a provider: Alice’s risk from St Mary’s own records, as a table and as JSON, from the shipped model (nothing trained)', async () => {
  const table = await ok(['--as', 'st-marys', 'ml', 'risk', 'alice']);
  assert.doesNotMatch(table.stderr, /training/, 'the model is loaded from data/models');
  assert.match(table.stdout, /probability \d+ %\s+\(95 % interval \d+(\.\d)? %–\d+(\.\d)? %\)/);
  assert.match(table.stdout, /Serum cholesterol\s+\d+ mg\/dL\s+observed\s+[+-]\d\.\d\d\s+Observation\/smh-100001-cardio-\d+ 2093-3/);
  assert.match(table.stdout, /About \d+ in \d+ people with results like yours/);

  const { assessment, read } = JSON.parse((await ok(['--as', 'st-marys', 'ml', 'risk', 'alice', '--json'])).stdout) as Json;
  assert.equal(read.length, 1, 'St Mary’s reads only its own records');
  assert.equal(assessment.enoughData, true);
  assert.equal(assessment.inputs.filter((i: Json) => i.status === 'observed').length, 13);
  assert.ok(contributionsAddUp(assessment));
  assert.ok(assessment.interval.low <= assessment.probability && assessment.probability <= assessment.interval.high);
  for (const i of assessment.inputs) assert.match(i.source.id, /^smh-100001/, `${i.feature} comes from St Mary's record of Alice`);
});

test('the patient: their own records at both providers', async () => {
  const { assessment, read } = JSON.parse((await ok(['--as', 'alice', 'ml', 'risk', 'alice', '--json'])).stdout) as Json;
  assert.equal(read.length, 2, JSON.stringify(read));
  assert.ok(read.every((r: Json) => r.resources > 0));
  assert.equal(assessment.enoughData, true);
  assert.ok(contributionsAddUp(assessment));
});

test('similar cases and advice, as JSON', async () => {
  const { similar } = JSON.parse((await ok(['--as', 'st-marys', 'ml', 'similar', 'alice', '-k', '3', '--json'])).stdout) as Json;
  assert.equal(similar.length, 3);
  for (const c of similar) assert.ok(c.site && c.ageBand && c.reasons.length === 3 && typeof c.hasDisease === 'boolean', JSON.stringify(c));
  const { advice } = JSON.parse((await ok(['--as', 'st-marys', 'ml', 'advice', 'alice', '--json'])).stdout) as Json;
  assert.ok(advice.length >= 1);
  for (const s of advice) assert.ok(s.ruleId && s.source && s.text, JSON.stringify(s));
});

test('ml card: the card of the shipped model is the one the system recorded on chain', async () => {
  const card = JSON.parse((await ok(['ml', 'card', 'heart-risk', '--json'])).stdout) as Json;
  assert.equal(card.id, 'heart-risk');
  assert.ok(card.onChain, 'the running system recorded the same model (same code, same data, same hash)');
  assert.equal(card.onChain.modelHash, card.modelHash);
  assert.equal(card.onChain.consentSetHash, card.consentSetHash);
  assert.ok(card.metrics.auc.low <= card.metrics.auc.value && card.metrics.auc.value <= card.metrics.auc.high);
  const text = (await ok(['ml', 'card', 'breast-cytology'])).stdout;
  assert.match(text, /intended use: Decision support/);
  assert.match(text, /auc\s+0\.\d{3} \(0\.\d{3}–\d\.\d{3}\)\s+569/);
});

test('ml card: every model the running system serves has its card, the same the manager serves', async () => {
  const manager = /EHR Manager: (http:\/\/\S+)/.exec(started.output())![1]!;
  const served = (await (await fetch(`${manager}/api/ml/models`)).json()) as Json[];
  assert.ok(['document-classifier', 'outbreak-forecast'].every((id) => served.some((c) => c.id === id)), served.map((c) => c.id).join());
  // heart-risk is compared with the chain's record above.
  for (const { onChain, ...want } of served.filter((c) => c.id !== 'heart-risk')) {
    const { onChain: read, ...card } = JSON.parse((await ok(['ml', 'card', want.id, '--json'])).stdout) as Json;
    assert.deepEqual(card, want, want.id);
    assert.ok(onChain && read, `${want.id}: recorded in the ModelRegistry by the running system`);
    assert.equal(read.modelHash, want.modelHash, `${want.id}: the chain's record is of this model`);
    assert.equal(read.consentSetHash, want.consentSetHash);
    assert.equal(read.transactionHash, onChain.transactionHash, `${want.id}: the same on-chain record`);
  }
  // The image models: their shipped card (checked against the weights) once trained, else a one-line error.
  for (const [set, id] of [['breastmnist', 'breast-ultrasound-cnn'], ['pneumoniamnist', 'pneumonia-xray-cnn']] as const) {
    if (existsSync(join(REPO, 'data', 'models', set, 'card.json'))) assert.equal(JSON.parse((await ok(['ml', 'card', set!, '--json'])).stdout).id, id);
    else await fails(['ml', 'card', set], new RegExp(`^medledger: the ${set} model is not trained: data/models/${set} has no card.json`));
  }
  assert.match((await ok(['ml', 'card', 'outbreak-forecast'])).stdout, /flu MAE h2\s+\d+\.\d{3} \(\d+\.\d{3}–\d+\.\d{3}\)\s+104/);
});

test('a third party reads only what the grant returns: blood pressure yes, cholesterol missing; after the revoke, nothing', async () => {
  await fails(['--as', 'carol', 'ml', 'risk', 'alice'], /^medledger: no records of alice that you may read\n$/);
  await ok(['--as', 'alice', 'patient', 'accept', 'st-marys']);
  await ok(['--as', 'alice', 'patient', 'grant', 'st-marys', '--viewer', 'carol', '--scope', 'Observation?category=vital-signs', '--expires', '1d']);
  const { assessment } = JSON.parse((await ok(['--as', 'carol', 'ml', 'risk', 'alice', '--json'])).stdout) as Json;
  const status = Object.fromEntries(assessment.inputs.map((i: Json) => [i.feature, i.status]));
  assert.equal(status.trestbps, 'observed');
  assert.equal(status.chol, 'missing');
  assert.match(assessment.inputs.find((i: Json) => i.feature === 'chol').note, /no Observation LOINC 2093-3/);
  assert.equal(assessment.enoughData, false);
  assert.ok(contributionsAddUp(assessment));
  await ok(['--as', 'alice', 'patient', 'revoke', 'st-marys', '--viewer', 'carol', '--scope', 'Observation?category=vital-signs']);
  await fails(['--as', 'carol', 'ml', 'risk', 'alice', '--json'], /^medledger: no records of alice that you may read\n$/);
});

test('one-line errors: unknown patient, not a patient, unknown model, bad -k', async () => {
  await fails(['--as', 'st-marys', 'ml', 'risk', 'nobody'], /^medledger: unknown patient "nobody"/);
  await fails(['--as', 'st-marys', 'ml', 'risk', 'carol'], /^medledger: "carol" is a third-party, not a patient\n$/);
  await fails(['--as', 'st-marys', 'ml', 'risk', 'smh-999999'], /^medledger: no records of smh-999999 that you may read\n$/);
  await fails(['ml', 'card', 'nope'], /^medledger: unknown model "nope": the models are heart-risk, breast-cytology, document-classifier, breast-ultrasound-cnn, pneumonia-xray-cnn, outbreak-forecast\n$/);
  await fails(['--as', 'st-marys', 'ml', 'risk', 'alice', '--model', 'nope'], /^medledger: unknown model "nope"/);
  await fails(['ml', 'train', 'nope'], /^medledger: unknown model "nope": the models are heart-risk, breast-cytology\n$/);
  await fails(['--as', 'st-marys', 'ml', 'similar', 'alice', '-k', '0'], /^medledger: -k must be a whole number from 1 to 50\n$/);
});
