/**
 * The document service: one uploaded file in, suggestions out, in the process of whoever runs it
 * (the provider's manager, or the CLI), offline.
 * - a document (PDF, or a PNG/JPEG page scan) → its text (the PDF's text layer, else OCR with
 *   tesseract) → the specialty classifier (document-model.ts) → every label with its probability;
 * - a medical image (a small picture, MedMNIST-like) → the trained CNN of data/models/<set>/
 *   (image-model.ts loadImageCnn), when that artefact exists.
 * Nothing is stored here: the clinician confirms, then the caller writes through its gatekeeper.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { dataDir } from './data-dir.js';
import { DOCUMENT_MODEL_ID, trainServedDocumentModel, type ServedDocumentModel } from './document-model.js';
import type { GrayImage } from './image-png.js';
import { openOcr, type OcrEngine } from './ocr.js';
import { ocrWords } from './ocr-recall.js';
import { readPdf } from './pdf-read.js';
import { decodeImage, encodePng } from './raster.js';
import {
  IMAGE_MODELS, MAX_UPLOAD_BYTES, TEXT_LIMIT, UPLOAD_TYPES, sniffUploadType,
  type ClassifyResult, type ImageModelName, type Suggestion, type UploadKind, type UploadType,
} from './uploads.js';

/** An upload the service refuses, with the HTTP status that says why. */
export class UploadError extends Error {
  constructor(readonly status: 400 | 413 | 415 | 503, message: string) {
    super(message);
    this.name = 'UploadError';
  }
}

/** A picture whose longer side is at most this is taken for a medical image; a page scanned at 75 dpi or more is wider. */
export const AUTO_IMAGE_MAX_SIDE = 512;
/** Requests waiting for OCR before more are turned away (tesseract reads one page at a time, seconds each). */
const MAX_PENDING = 4;

export interface ClassifyRequest {
  bytes: Uint8Array;
  /** The declared content type (already normalised); checked against the bytes. */
  contentType: string;
  /** Default 'auto': a small picture is an image, anything else a document. */
  kind?: UploadKind | 'auto';
  /** For an image: which model reads it (default pneumoniamnist). */
  imageModel?: ImageModelName;
}

export interface DocumentService {
  /** The trained document model (resolves once training at start is done). */
  documentModel(): Promise<ServedDocumentModel>;
  classify(request: ClassifyRequest): Promise<ClassifyResult>;
  close(): Promise<void>;
}

export interface DocumentServiceOptions {
  /** The document model, or how to get it (trained at start by the caller). */
  documentModel: () => Promise<ServedDocumentModel>;
  /** Where trained image models live, one folder per set (default data/models). */
  imageModelsDir?: string;
}

interface LoadedImageModel {
  id: string;
  hash: string;
  labelNames: readonly string[];
  probabilities(image: GrayImage): Promise<number[]>;
}

export function createDocumentService(options: DocumentServiceOptions): DocumentService {
  const imageModelsDir = options.imageModelsDir ?? join(dataDir(), 'models');
  let ocr: Promise<OcrEngine> | undefined;
  const images = new Map<ImageModelName, Promise<LoadedImageModel>>();
  let pending = 0;

  const openEngine = () => (ocr ??= openOcr().catch((err: unknown) => {
    ocr = undefined;
    throw err;
  }));

  const imageModel = (name: ImageModelName) => {
    let loaded = images.get(name);
    if (!loaded) {
      loaded = openImageModel(imageModelsDir, name);
      images.set(name, loaded);
      // A missing artefact may be trained later: only a model that loaded stays cached.
      loaded.catch(() => images.delete(name));
    }
    return loaded;
  };

  const readText = async (type: UploadType, bytes: Uint8Array): Promise<{ text: string; confidence: number | null; source: 'ocr' | 'pdf-text'; pages: number }> => {
    if (type !== 'application/pdf') {
      const r = await (await openEngine()).recognize(bytes);
      return { text: r.text, confidence: r.confidence, source: 'ocr', pages: 1 };
    }
    const pdf = await readPdf(bytes).catch((err: Error) => {
      throw new UploadError(400, `the PDF could not be read: ${err.message.split('\n')[0]}`);
    });
    if (pdf.text) return { text: pdf.text, confidence: null, source: 'pdf-text', pages: pdf.pages };
    const engine = await openEngine();
    const read = [];
    for (const page of pdf.images) read.push(await engine.recognize(encodePng(page)));
    const confidence = read.length ? read.reduce((s, r) => s + r.confidence, 0) / read.length : 0;
    return { text: read.map((r) => r.text.trim()).join('\n\n'), confidence, source: 'ocr', pages: pdf.pages };
  };

  const classifyDocument = async (type: UploadType, bytes: Uint8Array): Promise<ClassifyResult> => {
    const [model, read] = await Promise.all([options.documentModel(), readText(type, bytes)]);
    return {
      kind: 'document',
      contentType: type,
      text: read.text.length > TEXT_LIMIT ? `${read.text.slice(0, TEXT_LIMIT)}…` : read.text,
      words: ocrWords(read.text).length,
      ocrConfidence: read.confidence,
      source: read.source,
      pages: read.pages,
      suggestions: ranked(model.labels, model.probabilities(read.text)),
      model: { id: DOCUMENT_MODEL_ID, hash: model.hash },
    };
  };

  const classifyImage = async (type: UploadType, picture: GrayImage, name: ImageModelName): Promise<ClassifyResult> => {
    const model = await imageModel(name);
    return {
      kind: 'image', contentType: type, text: '', words: 0, ocrConfidence: null, source: 'pixels', pages: 1,
      suggestions: ranked(model.labelNames, await model.probabilities(picture)),
      model: { id: model.id, hash: model.hash },
    };
  };

  return {
    documentModel: options.documentModel,
    async classify(request) {
      const type = checkUpload(request);
      const picture = type === 'application/pdf' ? undefined : await decodeImage(request.bytes).catch((err: Error) => {
        throw new UploadError(400, `the picture could not be decoded: ${err.message.split('\n')[0]}`);
      });
      const kind = request.kind && request.kind !== 'auto' ? request.kind : picture && Math.max(picture.width, picture.height) <= AUTO_IMAGE_MAX_SIDE ? 'image' : 'document';
      if (kind === 'image' && !picture) throw new UploadError(400, 'a PDF is read as a document, not as a medical image');
      if (pending >= MAX_PENDING) throw new UploadError(503, `busy reading ${pending} other files: try again in a minute`);
      pending++;
      try {
        return kind === 'image' ? await classifyImage(type, picture!, request.imageModel ?? 'pneumoniamnist') : await classifyDocument(type, request.bytes);
      } finally {
        pending--;
      }
    },
    async close() {
      const engine = await ocr?.catch(() => undefined);
      ocr = undefined;
      await engine?.close();
    },
  };
}

/** The service with the vendored document model, trained once (about a second) when first needed. */
export function startDocumentService(options: { imageModelsDir?: string } = {}): DocumentService {
  let model: ServedDocumentModel | undefined;
  return createDocumentService({ documentModel: async () => (model ??= trainServedDocumentModel()), imageModelsDir: options.imageModelsDir });
}

/** The declared type, once it is accepted and the bytes agree with it. */
function checkUpload({ bytes, contentType, imageModel }: ClassifyRequest): UploadType {
  if (!(UPLOAD_TYPES as readonly string[]).includes(contentType)) {
    throw new UploadError(415, `${contentType ? `${contentType} is not accepted` : 'no content type given'}: send a PDF (application/pdf), PNG (image/png) or JPEG (image/jpeg)`);
  }
  if (bytes.length === 0) throw new UploadError(400, 'the file is empty');
  if (bytes.length > MAX_UPLOAD_BYTES) throw new UploadError(413, `the file has ${bytes.length} bytes; at most ${MAX_UPLOAD_BYTES} (${MAX_UPLOAD_BYTES / 1024} KB) are accepted`);
  const sniffed = sniffUploadType(bytes);
  if (sniffed !== contentType) throw new UploadError(400, `the file was sent as ${contentType} but its bytes are ${sniffed ? `a ${sniffed} file` : 'not a PDF, PNG or JPEG'}`);
  if (imageModel !== undefined && !Object.hasOwn(IMAGE_MODELS, imageModel)) throw new UploadError(400, `unknown image model ${JSON.stringify(imageModel)}: one of ${Object.keys(IMAGE_MODELS).join(', ')}`);
  return sniffed;
}

/** Every label with its probability, most likely first. */
function ranked(labels: readonly string[], probabilities: readonly number[]): Suggestion[] {
  return labels.map((label, i) => ({ label, probability: probabilities[i] ?? 0 })).sort((a, b) => b.probability - a.probability);
}

/** The trained model of data/models/<name> (model.json, weights.bin, card.json; image-artefacts.ts) as a two-class model. */
async function openImageModel(root: string, name: ImageModelName): Promise<LoadedImageModel> {
  const dir = join(root, name);
  if (!['model.json', 'weights.bin', 'card.json'].every((f) => existsSync(join(dir, f)))) {
    throw new UploadError(503, `the ${IMAGE_MODELS[name]} model (${name}) is not trained yet: data/models/${name} has no model.json, weights.bin and card.json`);
  }
  // tfjs is loaded only when an image is classified: documents never pay for it.
  const { loadImageModel } = await import('./image-artefacts.js');
  const { classifier, card, net } = await loadImageModel(name, dir);
  return {
    id: card.id,
    hash: card.modelHash,
    labelNames: net.labelNames,
    async probabilities(image) {
      const p = await classifier.classify(image.pixels, image.width, image.height);
      return net.labelNames.map((_, i) => (i === p.index ? p.probability : 1 - p.probability));
    },
  };
}
