/**
 * Loader for the Medical Abstracts text-classification corpus in
 * data/documents/medical-abstracts (the upstream test split, 2,888 abstracts, 5 classes).
 * Schopf, Braun & Matthes, "Evaluating Unsupervised Text Classification: Zero-Shot and
 * Similarity-Based Approaches", NLPIR 2022, https://doi.org/10.1145/3582768.3582795, CC BY-SA 3.0.
 *
 * The source is multi-label: 113 abstracts appear 2–3 times with different labels. They are merged
 * into one document before any split (otherwise the same text lands on both sides); its label is
 * the first *specific* condition in file order, because "general pathological conditions" is the
 * catch-all class. All labels stay on the document.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataDir } from './data-dir.js';
import { stratifiedSplit } from './metrics.js';

/** Class names in upstream id order (condition_label 1–5). */
export const DOCUMENT_LABELS = [
  'neoplasms',
  'digestive system diseases',
  'nervous system diseases',
  'cardiovascular diseases',
  'general pathological conditions',
] as const;
export type DocumentLabel = (typeof DOCUMENT_LABELS)[number];
const GENERAL: DocumentLabel = 'general pathological conditions';

/** Rows and distinct texts of medical_abstracts_test.csv, from the data's README. */
export const DOCUMENT_COUNTS = { rows: 2888, texts: 2770 };

export interface LabelledDocument {
  text: string;
  /** Index into DOCUMENT_LABELS. */
  label: number;
  /** Every label the source gives this text (indices), the chosen one first. */
  labels: number[];
}

export function documentsDir(root = dataDir()): string {
  return join(root, 'documents', 'medical-abstracts');
}

/** Parses RFC 4180 CSV: quoted fields may hold commas, doubled quotes and newlines. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch !== '"') field += ch;
      else if (text[i + 1] === '"') field += text[i++]!;
      else quoted = false;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (quoted) throw new Error('parseCsv: unterminated quoted field');
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** All distinct abstracts with their labels (duplicates merged as described above). */
export function loadMedicalAbstracts(dir = documentsDir()): LabelledDocument[] {
  const file = join(dir, 'medical_abstracts_test.csv');
  if (!existsSync(file)) throw new Error(`${file} is missing: the corpus is vendored in the repository as data/documents/medical-abstracts (see data/documents/README.md)`);
  const [header, ...rows] = parseCsv(readFileSync(file, 'utf8'));
  if (header?.join(',') !== 'text,label') throw new Error(`${file}: unexpected header ${header?.join(',')}`);
  if (rows.length !== DOCUMENT_COUNTS.rows) throw new Error(`${file}: ${rows.length} rows, expected ${DOCUMENT_COUNTS.rows}`);
  const byText = new Map<string, DocumentLabel[]>();
  for (const [text, label] of rows) {
    if (!DOCUMENT_LABELS.includes(label as DocumentLabel)) throw new Error(`${file}: unknown label ${label}`);
    const labels = byText.get(text!) ?? [];
    if (!labels.includes(label as DocumentLabel)) labels.push(label as DocumentLabel);
    byText.set(text!, labels);
  }
  if (byText.size !== DOCUMENT_COUNTS.texts) throw new Error(`${file}: ${byText.size} distinct texts, expected ${DOCUMENT_COUNTS.texts}`);
  return [...byText].map(([text, names]) => {
    const chosen = names.find((n) => n !== GENERAL) ?? GENERAL;
    const ordered = [chosen, ...names.filter((n) => n !== chosen)];
    return { text, label: DOCUMENT_LABELS.indexOf(chosen), labels: ordered.map((n) => DOCUMENT_LABELS.indexOf(n)) };
  });
}

/** A seeded split stratified by label, about `testShare` of each class held out. */
export function splitDocuments<T extends { label: number }>(docs: readonly T[], testShare: number, seed: number): { train: T[]; test: T[] } {
  const fold = stratifiedSplit(docs.map((d) => d.label), testShare, seed);
  return { train: fold.train.map((i) => docs[i]!), test: fold.test.map((i) => docs[i]!) };
}
