/**
 * One entry point for an uploaded document: text is classified as is; an image (PNG, JPEG, BMP,
 * PNM bytes) is read by OCR first. The OCR text and its confidence come back with the label, so a
 * caller can show what was read and distrust a low-confidence scan.
 */
import { openOcr, type OcrEngine } from './ocr.js';
import type { TextClassifier, TextPrediction } from './text-model.js';

export interface DocumentPrediction extends TextPrediction {
  /** The text that was classified (the OCR output for an image). */
  text: string;
  source: 'text' | 'ocr';
  /** Tesseract's mean word confidence, 0–100, for images. */
  ocrConfidence?: number;
}

/**
 * Classifies `document` (a string, or image bytes) with `classifier`. Pass an open `ocr` engine
 * when classifying many images; without one, a worker is opened for this call and closed after.
 */
export async function classifyDocument(document: string | Uint8Array, classifier: TextClassifier, ocr?: OcrEngine): Promise<DocumentPrediction> {
  if (typeof document === 'string') return { ...classifier.classify(document), text: document, source: 'text' };
  const engine = ocr ?? (await openOcr());
  try {
    const { text, confidence } = await engine.recognize(document);
    return { ...classifier.classify(text), text, source: 'ocr', ocrConfidence: confidence };
  } finally {
    if (!ocr) await engine.close();
  }
}
