/**
 * POST /api/documents/classify (src/manager/document-routes.ts over src/ml/document-service.ts),
 * through Fastify's inject: a scan as PNG and as a scanned PDF (rasterised, OCR'd), a born-digital
 * PDF (text layer, no OCR), a medical image read by a CNN artefact, and each refusal with its status
 * and {error}. The document model is the one the manager trains at start.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { documentRoutes } from '../src/manager/document-routes.js';
import { trainServedDocumentModel, type ServedDocumentModel } from '../src/ml/document-model.js';
import { createDocumentService, type DocumentService } from '../src/ml/document-service.js';
import { useImageBackend } from '../src/ml/image-backend.js';
import { createImageCnn, saveImageCnn } from '../src/ml/image-model.js';
import { encodeGrayPng } from '../src/ml/image-png.js';
import { imageAt, loadImageSet } from '../src/ml/images.js';
import { scanToPdf } from '../src/ml/pdf-write.js';
import { encodeJpeg, encodePng } from '../src/ml/raster.js';
import { rotate } from '../src/ml/scan-degrade.js';
import { renderPage } from '../src/ml/scan-render.js';
import { MAX_UPLOAD_BYTES, type ClassifyResult } from '../src/ml/uploads.js';
import { textPdf } from './helpers/pdf.js';

const CARDIOLOGY = 'Cardiac arrhythmia after myocardial infarction: atrial fibrillation and ventricular tachycardia in patients with coronary artery disease and heart failure.';
const ONCOLOGY = 'Breast carcinoma and metastatic tumor: chemotherapy, radiotherapy and survival of patients with malignant neoplasms, lymphoma and leukemia after tumor resection. '.repeat(3);

const models = mkdtempSync(join(tmpdir(), 'medledger-doc-models-'));
let model: ServedDocumentModel;
let service: DocumentService;
let app: FastifyInstance;

before(async () => {
  model = trainServedDocumentModel();
  service = createDocumentService({ documentModel: async () => model, imageModelsDir: models });
  app = Fastify();
  await app.register(documentRoutes(service));
});
after(async () => {
  await app?.close();
  await service?.close();
  rmSync(models, { recursive: true, force: true });
});

const post = (body: Uint8Array | string, contentType?: string, query = '') =>
  app.inject({ method: 'POST', url: `/api/documents/classify${query}`, payload: Buffer.from(body), headers: contentType ? { 'content-type': contentType } : {} });

function assertSuggestions(result: ClassifyResult, labels: readonly string[]): void {
  assert.deepEqual(result.suggestions.map((s) => s.label).sort(), [...labels].sort());
  const total = result.suggestions.reduce((s, x) => s + x.probability, 0);
  assert.ok(Math.abs(total - 1) < 1e-6, `probabilities sum to ${total}`);
  for (let i = 1; i < result.suggestions.length; i++) assert.ok(result.suggestions[i - 1]!.probability >= result.suggestions[i]!.probability, 'most likely first');
}

test('a scanned page (PNG, skewed 1°) and the same scan as a PDF are read by OCR and suggested their specialty', { timeout: 120_000 }, async () => {
  const scan = rotate(renderPage(CARDIOLOGY, { widthIn: 5 }), 1);
  const png = await post(encodePng(scan), 'image/png');
  assert.equal(png.statusCode, 200, png.body);
  const fromPng = png.json<ClassifyResult>();
  assert.deepEqual([fromPng.kind, fromPng.source, fromPng.pages], ['document', 'ocr', 1]);
  assert.match(fromPng.text, /arrhythmia/i);
  assert.ok(fromPng.ocrConfidence! > 50 && fromPng.words >= 15, `confidence ${fromPng.ocrConfidence}, ${fromPng.words} words`);
  assert.equal(fromPng.suggestions[0]!.label, 'cardiovascular diseases');
  assert.deepEqual(fromPng.model, { id: 'document-classifier', hash: model.hash });
  assertSuggestions(fromPng, model.labels);

  const pdf = await post(scanToPdf({ jpeg: encodeJpeg(scan, 80), width: scan.width, height: scan.height }), 'application/pdf');
  assert.equal(pdf.statusCode, 200, pdf.body);
  const fromPdf = pdf.json<ClassifyResult>();
  assert.deepEqual([fromPdf.kind, fromPdf.contentType, fromPdf.source], ['document', 'application/pdf', 'ocr']);
  assert.equal(fromPdf.suggestions[0]!.label, 'cardiovascular diseases');
});

test('a born-digital PDF is classified from its text layer, without OCR', async () => {
  const res = await post(textPdf([ONCOLOGY]), 'application/pdf; charset=binary');
  assert.equal(res.statusCode, 200, res.body);
  const result = res.json<ClassifyResult>();
  assert.deepEqual([result.source, result.ocrConfidence], ['pdf-text', null]);
  assert.equal(result.suggestions[0]!.label, 'neoplasms');
  assert.ok(result.suggestions[0]!.probability > 0.5);
});

test('a medical image: 503 while its model is not trained, then the CNN artefact answers with its class', { timeout: 120_000 }, async () => {
  const xray = encodeGrayPng({ width: 28, height: 28, pixels: imageAt(loadImageSet('pneumoniamnist', 'test'), 0) });
  const missing = await post(xray, 'image/png');
  assert.equal(missing.statusCode, 503);
  assert.match(missing.json<{ error: string }>().error, /chest X-ray model \(pneumoniamnist\) is not trained yet/);

  // An artefact as the training script leaves it: model.json + weights.bin + card.json with the weights' hash.
  const dir = join(models, 'pneumoniamnist');
  mkdirSync(dir, { recursive: true });
  await useImageBackend();
  const { weightsHash } = await saveImageCnn({ model: createImageCnn({ seed: 3 }), labelNames: ['normal', 'pneumonia'], width: 28, height: 28 }, dir);
  writeFileSync(join(dir, 'card.json'), JSON.stringify({ id: 'pneumonia-image', modelHash: weightsHash }));
  const res = await post(xray, 'image/png');
  assert.equal(res.statusCode, 200, res.body);
  const result = res.json<ClassifyResult>();
  assert.deepEqual([result.kind, result.source, result.text, result.ocrConfidence], ['image', 'pixels', '', null]);
  assert.deepEqual(result.model, { id: 'pneumonia-image', hash: weightsHash });
  assertSuggestions(result, ['normal', 'pneumonia']);

  const asDocument = await post(xray, 'image/png', '?kind=document');
  assert.equal(asDocument.json<ClassifyResult>().kind, 'document', 'kind=document overrides the size rule');
});

test('refusals: 415 for other types, 400 for a lie, an empty body or a bad option, 413 over the limit, all {error}', async () => {
  const png = encodePng(renderPage('x', { widthIn: 2 }));
  const cases: [Awaited<ReturnType<typeof post>>, number, RegExp][] = [
    [await post('hello', 'text/plain'), 415, /text\/plain is not accepted/],
    [await post('{"a":1}', 'application/json'), 415, /application\/json is not accepted/],
    [await post(png, 'application/pdf'), 400, /sent as application\/pdf but its bytes are a image\/png file/],
    [await post('', 'image/png'), 400, /bytes as the request body/],
    [await post(png, 'image/png', '?kind=sideways'), 400, /kind must be one of/],
    [await post(png, 'image/png', '?model=brainmnist'), 400, /model must be one of pneumoniamnist, breastmnist/],
    [await post(textPdf([ONCOLOGY]), 'application/pdf', '?kind=image'), 400, /a PDF is read as a document/],
    [await post(new Uint8Array(MAX_UPLOAD_BYTES + 1), 'image/png'), 413, /larger than 700 KB/],
  ];
  for (const [res, status, message] of cases) {
    assert.equal(res.statusCode, status, res.body);
    assert.match(res.json<{ error: string }>().error, message);
  }
  const none = await post(png);
  assert.equal(none.statusCode, 415);
  assert.match(none.json<{ error: string }>().error, /no content type given/);
});
