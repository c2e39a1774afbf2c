/**
 * Offline OCR for scanned documents: tesseract.js 7 with the English LSTM model from
 * @tesseract.js-data/eng (4.0.0_best_int, gzipped in the package). Nothing is fetched and nothing is
 * cached on disk: langPath points into node_modules, `cacheMethod: 'none'`, and the wasm core comes
 * from the installed tesseract.js-core. One worker is slow to start (it reads and inflates the
 * model), so callers open it once and reuse it.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import Tesseract from 'tesseract.js';

export interface OcrResult {
  text: string;
  /** Mean word confidence reported by tesseract, 0–100. */
  confidence: number;
}

export interface OcrEngine {
  /** PNG, JPEG, BMP or PNM bytes. */
  recognize(image: Uint8Array): Promise<OcrResult>;
  close(): Promise<void>;
}

/** The folder holding eng.traineddata.gz for the LSTM engine, inside the installed package. */
export function englishModelDir(): string {
  const pkg = createRequire(import.meta.url).resolve('@tesseract.js-data/eng/package.json');
  return join(dirname(pkg), '4.0.0_best_int');
}

/** Starts one tesseract worker (LSTM only, English) that reads its model from node_modules. */
export async function openOcr(): Promise<OcrEngine> {
  const worker = await Tesseract.createWorker('eng', Tesseract.OEM.LSTM_ONLY, {
    langPath: englishModelDir(),
    gzip: true,
    cacheMethod: 'none',
  });
  return {
    async recognize(image) {
      const { data } = await worker.recognize(Buffer.from(image.buffer, image.byteOffset, image.byteLength));
      return { text: data.text, confidence: data.confidence };
    },
    async close() {
      await worker.terminate();
    },
  };
}
