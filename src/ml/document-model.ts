/**
 * The document classifier a running system serves: TF-IDF + softmax regression (text-model.ts)
 * trained on 80 % of the Medical Abstracts (stratified, seed 1) and scored on the other 20 %, so the
 * card's numbers are those of the very model that answers (not of a cross-validation average).
 * Its identity is keccak256 over the vocabulary, idf and weights, the value a provider would
 * record on chain. Trains in about a second; the manager does it at start, the CLI per command.
 */
import { keccak256, type Hex } from 'viem';
import { bootstrapInterval, pick } from './bootstrap.js';
import type { MetricEstimate, ModelCard } from './card.js';
import { consentSetHash } from './consent-set.js';
import { DOCUMENT_LABELS, loadMedicalAbstracts, splitDocuments, type LabelledDocument } from './documents.js';
import { argmax, fitTfidf, macroF1, majorityLabel, predictSoftmax, trainSoftmaxSgd, vectorizeTfidf, type SoftmaxModel, type TfidfVectorizer } from './text-model.js';

export const DOCUMENT_MODEL_ID = 'document-classifier';

export interface ServedDocumentModel {
  labels: readonly string[];
  /** keccak256 of the parameters. */
  hash: Hex;
  /** Probability of every label, in label order. */
  probabilities(text: string): number[];
  card: ModelCard;
}

/** Trains on the 80 % split and writes the card from the 20 %. `docs` defaults to the vendored corpus. */
export function trainServedDocumentModel(docs: readonly LabelledDocument[] = loadMedicalAbstracts()): ServedDocumentModel {
  const { train, test } = splitDocuments(docs, 0.2, 1);
  const vectorizer = fitTfidf(train.map((d) => d.text));
  const rows = train.map((d) => vectorizeTfidf(vectorizer, d.text));
  const model = trainSoftmaxSgd(rows, train.map((d) => d.label), DOCUMENT_LABELS.length, vectorizer.vocabulary.size, { balanced: true });
  const probabilities = (text: string) => [...predictSoftmax(model, vectorizeTfidf(vectorizer, text))];
  const hash = hashDocumentModel(vectorizer, model);
  const truth = test.map((d) => d.label);
  const predicted = test.map((d) => argmax(probabilities(d.text)));
  const card = documentCard({ hash, train, truth, predicted, majority: majorityLabel(train.map((d) => d.label)) });
  return { labels: DOCUMENT_LABELS, hash, probabilities, card };
}

/** keccak256 over the vocabulary (UTF-8, one term a line), then idf, weights and biases as little-endian floats. */
export function hashDocumentModel(vectorizer: TfidfVectorizer, model: SoftmaxModel): Hex {
  const terms = new TextEncoder().encode([...vectorizer.vocabulary.keys()].join('\n'));
  const parts = [terms, new Uint8Array(vectorizer.idf.buffer), new Uint8Array(Float64Array.from(model.weights).buffer), new Uint8Array(Float64Array.from(model.bias).buffer)];
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return keccak256(bytes);
}

/** F1 of one class (one-vs-rest); NaN when the class is neither true nor predicted anywhere. */
function classF1(truth: readonly number[], predicted: readonly number[], k: number): number {
  let tp = 0, fp = 0, fn = 0;
  for (let i = 0; i < truth.length; i++) {
    if (predicted[i] === k && truth[i] === k) tp++;
    else if (predicted[i] === k) fp++;
    else if (truth[i] === k) fn++;
  }
  return tp + fp + fn ? (2 * tp) / (2 * tp + fp + fn) : NaN;
}

interface CardInput {
  hash: Hex;
  train: readonly LabelledDocument[];
  truth: number[];
  predicted: number[];
  majority: number;
}

function documentCard({ hash, train, truth, predicted, majority }: CardInput): ModelCard {
  const estimate = (metric: (t: number[], p: number[]) => number, seed: number): MetricEstimate =>
    bootstrapInterval(truth.length, (ix) => metric(pick(truth, ix), pick(predicted, ix)), { seed });
  const metrics: Record<string, MetricEstimate> = {
    macroF1: estimate(macroF1, 1),
    accuracy: estimate((t, p) => t.filter((y, i) => y === p[i]).length / t.length, 2),
    majorityMacroF1: bootstrapInterval(truth.length, (ix) => macroF1(pick(truth, ix), ix.map(() => majority)), { seed: 3 }),
  };
  DOCUMENT_LABELS.forEach((label, k) => (metrics[`f1 ${label}`] = estimate((t, p) => classF1(t, p, k), 10 + k)));
  return {
    id: DOCUMENT_MODEL_ID,
    name: 'Specialty of a medical document (TF-IDF + softmax regression)',
    version: '1',
    modelHash: hash,
    intendedUse:
      'Suggest which of five disease areas an uploaded clinical text (a scan read by OCR, or a PDF) is about, for the clinician to confirm or change before it is filed. A suggestion, never a diagnosis.',
    notFor: [
      'Deciding anything about a patient: it reads topic words, not findings.',
      'Document types (letter, lab report, discharge summary): it was trained on specialty labels only.',
      'Languages other than English, handwriting, or texts unlike journal abstracts without checking its accuracy on them first.',
    ],
    trainingData: {
      name: 'Medical Abstracts (test split), duplicates merged',
      source: 'https://github.com/sebischair/Medical-Abstracts-TC-Corpus (vendored in data/documents/medical-abstracts)',
      licence: 'CC BY-SA 3.0',
      citation: 'Schopf, Braun & Matthes, "Evaluating Unsupervised Text Classification: Zero-Shot and Similarity-Based Approaches", NLPIR 2022, https://doi.org/10.1145/3582768.3582795',
      rows: train.length,
      population: 'English PubMed abstracts of five disease classes (neoplasms, digestive, nervous system, cardiovascular, general pathological conditions); no patients, no MedLedger records.',
    },
    evaluation: `Stratified 80/20 split of the ${train.length + truth.length} distinct abstracts (seed 1); trained on ${train.length}, scored on the ${truth.length} held out. 95 % intervals: 1,000 bootstrap resamples of the held-out abstracts. Class-balanced loss, so the large catch-all class does not swamp the others.`,
    metrics,
    subgroups: [],
    published: [],
    limitations: [
      '"General pathological conditions" is a catch-all that overlaps the other four classes; it is the least reliable label.',
      'Scored on clean abstract text: OCR errors on poor scans lower the accuracy (see ml.ocrWordRecall for how many words OCR loses per kind of damage).',
      'Abstracts are not clinical letters: vocabulary and length differ from what a clinic uploads.',
      'No sex, age or site is known for the texts, so no subgroup performance can be given.',
    ],
    consentSetHash: consentSetHash([]),
    onChain: null,
  };
}
