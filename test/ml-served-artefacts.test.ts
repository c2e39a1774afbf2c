/**
 * The trained artefacts shipped in data/models (src/ml/served-artefacts.ts, src/ml/outbreak-card.ts):
 * each loads with its card's hash matching its parameters, a tampered or misplaced artefact is
 * refused with a message naming the file and the fix, a missing one reads as missing (the service then
 * trains), and the outbreak card is the benchmark's figures for the method in the code. That
 * re-training reproduces the shipped parameters is checked in ml-heart.test.ts, which trains anyway.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../bench/harness/chain.js';
import { outbreakCard, readOutbreakCard } from '../src/ml/outbreak-card.js';
import { loadServedArtefact, SERVED_MODEL_IDS, servedArtefactPath } from '../src/ml/served-artefacts.js';
import type { ServedLogistic } from '../src/ml/served-model.js';
import { hashServed } from '../src/ml/served-train.js';

test('the shipped artefacts load, each card naming the hash of the parameters beside it', () => {
  for (const id of SERVED_MODEL_IDS) {
    const doc = loadServedArtefact(id)!;
    assert.equal(doc.card.id, id);
    assert.equal(doc.card.modelHash, hashServed(doc.parameters as ServedLogistic));
    assert.equal(doc.card.onChain, null, 'the chain record is made by the running system, not stored');
    assert.ok((doc.parameters as ServedLogistic).refits.length >= 100);
  }
});

test('a changed parameter or another model’s file is refused; a missing artefact is undefined', () => {
  const root = tempDir('medledger-artefacts-');
  const heart = JSON.parse(readFileSync(servedArtefactPath('heart-risk'), 'utf8'));
  heart.parameters.coefficients[0] += 1e-9;
  mkdirSync(join(root, 'models', 'heart-risk'), { recursive: true });
  writeFileSync(servedArtefactPath('heart-risk', root), JSON.stringify(heart));
  assert.throws(() => loadServedArtefact('heart-risk', root), /heart-risk[/\\]model\.json: the card's modelHash 0x[0-9a-f]{64} is not the hash of the parameters beside it .*medledger ml train heart-risk/);
  mkdirSync(join(root, 'models', 'breast-cytology'), { recursive: true });
  writeFileSync(servedArtefactPath('breast-cytology', root), readFileSync(servedArtefactPath('heart-risk')));
  assert.throws(() => loadServedArtefact('breast-cytology', root), /holds the model "heart-risk", not breast-cytology/);
  assert.equal(loadServedArtefact('heart-risk', tempDir('medledger-artefacts-empty-')), undefined);
});

test('the outbreak card is the benchmark’s figures (bench/results.json ml.outbreak) for the forecast method in the code', () => {
  const results = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'bench', 'results.json'), 'utf8'));
  const card = readOutbreakCard();
  assert.deepEqual(card, JSON.parse(JSON.stringify(outbreakCard(results.ml.outbreak))));
  const mae = card.metrics['flu MAE h2']!;
  assert.ok(mae.low <= mae.value && mae.value <= mae.high && mae.n === 104, JSON.stringify(mae));
  const coverage = card.metrics['sal 95 % coverage h1']!;
  assert.ok(coverage.low < coverage.value && coverage.value < coverage.high, JSON.stringify(coverage));
  const root = tempDir('medledger-outbreak-card-');
  mkdirSync(join(root, 'models', 'outbreak-forecast'), { recursive: true });
  writeFileSync(join(root, 'models', 'outbreak-forecast', 'card.json'), JSON.stringify({ ...card, modelHash: `0x${'1'.repeat(64)}` }));
  assert.throws(() => readOutbreakCard(root), /not the forecast method in the code/);
});
