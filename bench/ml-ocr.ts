/**
 * OCR on realistic scans, per kind of damage (`npm run bench -- ml-ocr`): held-out Medical Abstracts
 * rendered as pages in a TrueType serif (src/ml/scan-render.ts, DejaVu Serif 11 pt at 150 dpi),
 * degraded by each level of src/ml/scan-degrade.ts (skew 1° and 3°, blur, noise, low resolution,
 * JPEG, all combined), read back by tesseract (src/ml/ocr.ts, offline LSTM English model).
 * - ml.ocrWordRecall.<level>: share of the source words the OCR output contains (multiset recall,
 *   src/ml/ocr-recall.ts), pooled over the pages, with a 95 % bootstrap interval over pages;
 * - ml.ocrLabelAgreement.<level>: share of pages where the served document classifier gives the OCR
 *   text the same specialty as the clean source text (what the damage costs the suggestion).
 */
import { bootstrapInterval } from '../src/ml/bootstrap.js';
import type { MetricEstimate } from '../src/ml/card.js';
import { trainServedDocumentModel } from '../src/ml/document-model.js';
import { loadMedicalAbstracts, splitDocuments } from '../src/ml/documents.js';
import { encodeGrayPng } from '../src/ml/image-png.js';
import { openOcr } from '../src/ml/ocr.js';
import { wordRecallCounts } from '../src/ml/ocr-recall.js';
import { DEGRADATIONS, DEGRADATION_NAMES, type DegradationName } from '../src/ml/scan-degrade.js';
import { renderPage } from '../src/ml/scan-render.js';
import { argmax } from '../src/ml/text-model.js';

const round = (x: number, digits = 4) => Number(x.toFixed(digits));
const rounded = (m: MetricEstimate): MetricEstimate => ({ value: round(m.value), low: round(m.low), high: round(m.high), n: m.n });

export async function benchMlOcr(log: (line: string) => void = console.log, pages = 15): Promise<Record<string, unknown>> {
  const model = trainServedDocumentModel();
  // The model's own held-out split: none of these pages was seen in training.
  const { test } = splitDocuments(loadMedicalAbstracts(), 0.2, 1);
  const docs = test.slice(0, pages);
  const cleanLabels = docs.map((d) => argmax(model.probabilities(d.text)));
  const sources = docs.map((d) => renderPage(d.text));
  const recall: Partial<Record<DegradationName, MetricEstimate>> = {};
  const agreement: Partial<Record<DegradationName, MetricEstimate>> = {};
  let seconds = 0, reads = 0;
  const ocr = await openOcr();
  try {
    for (const name of DEGRADATION_NAMES) {
      const counts: { recovered: number; words: number }[] = [];
      const agrees: number[] = [];
      for (const [i, doc] of docs.entries()) {
        const scan = await DEGRADATIONS[name].apply(sources[i]!, i + 1);
        const started = performance.now();
        const read = await ocr.recognize(encodeGrayPng(scan));
        seconds += (performance.now() - started) / 1000;
        reads++;
        counts.push(wordRecallCounts(doc.text, read.text));
        agrees.push(argmax(model.probabilities(read.text)) === cleanLabels[i] ? 1 : 0);
      }
      recall[name] = rounded(bootstrapInterval(counts.length, (ix) => {
        let recovered = 0, words = 0;
        for (const i of ix) {
          recovered += counts[i]!.recovered;
          words += counts[i]!.words;
        }
        return recovered / words;
      }));
      agreement[name] = rounded(bootstrapInterval(agrees.length, (ix) => ix.reduce((s, i) => s + agrees[i]!, 0) / ix.length));
      const r = recall[name]!;
      log(`  ${name.padEnd(11)} ${DEGRADATIONS[name].description.padEnd(62)} word recall ${r.value.toFixed(3)} [${r.low.toFixed(3)}, ${r.high.toFixed(3)}], same label ${Math.round(100 * agreement[name]!.value)} %`);
    }
  } finally {
    await ocr.close();
  }
  return {
    ocrWordRecall: recall,
    ocrLabelAgreement: agreement,
    ocrPages: docs.length,
    ocrSecondsPerPage: round(seconds / reads, 2),
    ocrLevels: Object.fromEntries(DEGRADATION_NAMES.map((n) => [n, DEGRADATIONS[n].description])),
  };
}
