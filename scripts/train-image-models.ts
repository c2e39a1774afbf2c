/**
 * Trains the image models the product ships and writes them to data/models/<set>/ (model.json,
 * weights.bin, card.json; see data/models/README.md), then lists the new files in data/SHA256SUMS.
 *
 *   nice -n 10 node --import tsx scripts/train-image-models.ts [breastmnist] [pneumoniamnist] [--out <dir>] [--cards-only]
 *
 * The plan of each set is src/ml/image-training.ts's (chosen on the validation split); the card's
 * metrics are computed on the test split from the model as saved and loaded again, so they belong
 * to the hashed weights. Deterministic for a given backend and machine (seeded); a few minutes per
 * set on two cores.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { dataDir } from '../src/ml/data-dir.js';
import { imageModelDir } from '../src/ml/image-artefacts.js';
import { useImageBackend } from '../src/ml/image-backend.js';
import { IMAGE_MODEL_INFO, imageModelCard } from '../src/ml/image-card.js';
import { loadImageCnn, predictImageSet, saveImageCnn } from '../src/ml/image-model.js';
import { IMAGE_TRAINING_PLANS, trainImagePlan } from '../src/ml/image-training.js';
import { IMAGE_SETS, loadImageSet, type ImageSetName } from '../src/ml/images.js';
import { auc } from '../src/ml/metrics.js';

const { values, positionals } = parseArgs({ options: { out: { type: 'string' }, 'cards-only': { type: 'boolean' } }, allowPositionals: true });
const unknown = positionals.filter((s) => !(IMAGE_SETS as readonly string[]).includes(s));
if (unknown.length > 0) {
  console.error(`train-image-models: unknown set ${unknown.join(', ')} (known: ${IMAGE_SETS.join(', ')})`);
  process.exit(2);
}
const sets = (positionals.length > 0 ? positionals : [...IMAGE_SETS]) as ImageSetName[];
const root = dataDir();

await useImageBackend('wasm');
for (const set of sets) {
  const dir = values.out ? join(resolve(values.out), set) : imageModelDir(set, root);
  if (!values['cards-only']) {
    const trained = await trainImagePlan(set, console.log);
    await saveImageCnn(trained.net, dir);
    console.log(`${set}: ${trained.trainSeconds.toFixed(0)} s training`);
  }
  await writeCard(set, dir);
}
if (!values.out) updateChecksums(root, sets);

/**
 * Scores the model saved in `dir` (as loaded again, so the figures belong to the hashed weights) and
 * writes its card.json. With --cards-only this is all the script does: new card text, same weights.
 */
async function writeCard(set: ImageSetName, dir: string): Promise<void> {
  const { net, weightsHash } = await loadImageCnn(dir);
  const train = loadImageSet(set, 'train');
  const validation = loadImageSet(set, 'val');
  const test = loadImageSet(set, 'test');
  const validationAuc = auc(await predictImageSet(net, validation), validation.labels);
  const card = imageModelCard({
    info: IMAGE_MODEL_INFO[set],
    weightsHash,
    training: IMAGE_TRAINING_PLANS[set].description,
    trainCount: train.count,
    trainPositives: train.labels.reduce((s, y) => s + y, 0),
    validationAuc,
    test: { probabilities: await predictImageSet(net, test), labels: test.labels },
  });
  writeFileSync(join(dir, 'card.json'), `${JSON.stringify(card, null, 2)}\n`);
  const f = (m: { value: number; low: number; high: number }) => `${m.value.toFixed(3)} (${m.low.toFixed(3)}–${m.high.toFixed(3)})`;
  console.log(`${set}: validation AUC ${validationAuc.toFixed(4)}; test AUC ${f(card.metrics.auc!)}, accuracy ${f(card.metrics.accuracy!)}, ECE ${f(card.calibration!.ece)}; weights ${weightsHash}`);
  console.log(`${set}: wrote ${relative(process.cwd(), dir)}/{model.json,weights.bin,card.json}`);
}

/** Replaces the lines of data/SHA256SUMS for data/models/<set>/ with the files now there (sorted by path). */
function updateChecksums(dataRoot: string, trainedSets: ImageSetName[]): void {
  const file = join(dataRoot, 'SHA256SUMS');
  const prefixes = trainedSets.map((s) => `models/${s}/`);
  const kept = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '' && !prefixes.some((p) => l.slice(66).startsWith(p)));
  const added = trainedSets.flatMap((set) => readdirSync(imageModelDir(set, dataRoot)).map((name) => {
    const path = `models/${set}/${name}`;
    return `${createHash('sha256').update(readFileSync(join(dataRoot, path))).digest('hex')}  ${path}`;
  }));
  const lines = [...kept, ...added].sort((a, b) => (a.slice(66) < b.slice(66) ? -1 : 1));
  writeFileSync(file, `${lines.join('\n')}\n`);
  console.log(`data/SHA256SUMS: ${added.length} lines for ${prefixes.join(', ')}`);
}
