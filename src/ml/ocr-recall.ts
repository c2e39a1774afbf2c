/**
 * Word recall of OCR: the share of the source's words that the OCR output contains, counted as
 * multisets (a word the source has three times must be read three times), case-folded, words being
 * runs of letters and digits (punctuation and hyphens split words). Order-free on purpose: line
 * breaks and reading order are layout questions; what the classifier and a reader need is the words.
 * This is the bag-of-words recall of the ICDAR / ISRI OCR evaluations (Rice, Jenkins & Nartker,
 * "The Fifth Annual Test of OCR Accuracy", 1996).
 */

export function ocrWords(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** Source words recovered and source words in all, so pages can be pooled (Σ recovered / Σ words). */
export function wordRecallCounts(source: string, read: string): { recovered: number; words: number } {
  const available = new Map<string, number>();
  for (const w of ocrWords(read)) available.set(w, (available.get(w) ?? 0) + 1);
  let recovered = 0;
  const words = ocrWords(source);
  for (const w of words) {
    const left = available.get(w) ?? 0;
    if (left > 0) {
      recovered++;
      available.set(w, left - 1);
    }
  }
  return { recovered, words: words.length };
}

/** recovered / words for one page (1 for a source without words). */
export function wordRecall(source: string, read: string): number {
  const { recovered, words } = wordRecallCounts(source, read);
  return words ? recovered / words : 1;
}
