/**
 * Loaders for the real tabular data sets in the repository's data/ folder (read-only; data/README.md):
 * - UCI Heart Disease, four hospitals (`uci-heart/processed.<hospital>.data`): 13 attributes and
 *   `num`, the label being num > 0 (angiographic disease). Janosi, Steinbrunn, Pfisterer & Detrano
 *   (1988), https://doi.org/10.24432/C52P4X, CC BY 4.0.
 * - Breast Cancer Wisconsin Diagnostic (`wdbc/wdbc.csv`): 30 nucleus features, label M = 1.
 *   Wolberg, Mangasarian, Street & Street (1995), https://doi.org/10.24432/C5DW2B, CC BY 4.0.
 * Row and class counts are checked on every load, so a truncated or altered copy fails loudly.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataDir } from './data-dir.js';
import { HEART_COUNTS, HEART_FEATURES, HEART_HOSPITALS, type HeartHospital } from './heart-codes.js';
import type { Matrix } from './matrix.js';
import type { FeatureSpec } from './preprocess.js';

export interface TabularDataSet {
  name: string;
  features: FeatureSpec[];
  /** Raw values, NaN where missing. */
  x: Matrix;
  /** 0/1 labels. */
  y: Uint8Array;
}

function readDataFile(root: string, folder: string, file: string): string {
  const dir = join(root, folder);
  if (!existsSync(dir)) {
    throw new Error(`data folder ${dir} is missing: the data sets are vendored in the repository as data/${folder} (see data/README.md)`);
  }
  const path = join(dir, file);
  if (!existsSync(path)) throw new Error(`data file ${path} is missing (see ${join(dir, 'README.md')})`);
  return readFileSync(path, 'utf8');
}

// The attributes and centres live in heart-codes.ts (browser-safe); re-exported here for the loaders' users.
export { HEART_COUNTS, HEART_FEATURES, HEART_HOSPITALS, type HeartHospital } from './heart-codes.js';

const TRESTBPS = 3;
const CHOL = 4;

/**
 * One hospital's processed UCI file. Quirks handled (data/uci-heart/README.md): `?` is
 * missing; numbers like `.7`; `chol` = 0 (all Swiss rows, 49 VA rows) and `trestbps` = 0 (one VA
 * row) are physiologically impossible and mean "not measured", so they become missing too.
 */
export function loadHeartDisease(hospital: HeartHospital, root = dataDir()): TabularDataSet {
  const text = readDataFile(root, 'uci-heart', `processed.${hospital}.data`);
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const d = HEART_FEATURES.length;
  const data = new Float64Array(lines.length * d);
  const y = new Uint8Array(lines.length);
  lines.forEach((line, i) => {
    const fields = line.split(',');
    if (fields.length !== d + 1) throw new Error(`uci-heart/${hospital} line ${i + 1}: ${fields.length} fields, expected ${d + 1}`);
    for (let j = 0; j < d; j++) data[i * d + j] = parseField(fields[j]!, hospital, i);
    for (const j of [TRESTBPS, CHOL]) if (data[i * d + j] === 0) data[i * d + j] = NaN;
    const num = parseField(fields[d]!, hospital, i);
    if (Number.isNaN(num)) throw new Error(`uci-heart/${hospital} line ${i + 1}: missing label`);
    y[i] = num > 0 ? 1 : 0;
  });
  const dataSet = { name: `uci-heart/${hospital}`, features: [...HEART_FEATURES], x: { data, rows: lines.length, cols: d }, y };
  checkCounts(dataSet, HEART_COUNTS[hospital]);
  return dataSet;
}

/** All four hospitals, each its own data set (the natural federated split). */
export function loadHeartDiseaseSites(root = dataDir()): Record<HeartHospital, TabularDataSet> {
  return Object.fromEntries(HEART_HOSPITALS.map((h) => [h, loadHeartDisease(h, root)])) as Record<HeartHospital, TabularDataSet>;
}

function parseField(field: string, hospital: string, line: number): number {
  const t = field.trim();
  if (t === '?') return NaN;
  const v = Number(t);
  if (t === '' || !Number.isFinite(v)) throw new Error(`uci-heart/${hospital} line ${line + 1}: not a number: ${JSON.stringify(field)}`);
  return v;
}

export const WDBC_COUNTS = { rows: 569, positives: 212 };

/** Breast Cancer Wisconsin Diagnostic: 30 numeric features (header names), diagnosis M = 1, B = 0. */
export function loadWdbc(root = dataDir()): TabularDataSet {
  const lines = readDataFile(root, 'wdbc', 'wdbc.csv').split('\n').filter((l) => l.trim() !== '');
  const header = lines[0]!.split(',');
  if (header[header.length - 1] !== 'diagnosis') throw new Error('wdbc.csv: last column is not `diagnosis`');
  const names = header.slice(0, -1);
  const d = names.length;
  const rows = lines.length - 1;
  const data = new Float64Array(rows * d);
  const y = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) {
    const fields = lines[i + 1]!.split(',');
    if (fields.length !== d + 1) throw new Error(`wdbc.csv line ${i + 2}: ${fields.length} fields, expected ${d + 1}`);
    for (let j = 0; j < d; j++) {
      const v = Number(fields[j]);
      if (fields[j] === '' || !Number.isFinite(v)) throw new Error(`wdbc.csv line ${i + 2}: not a number: ${JSON.stringify(fields[j])}`);
      data[i * d + j] = v;
    }
    const diagnosis = fields[d]!.trim();
    if (diagnosis !== 'M' && diagnosis !== 'B') throw new Error(`wdbc.csv line ${i + 2}: diagnosis ${JSON.stringify(diagnosis)}`);
    y[i] = diagnosis === 'M' ? 1 : 0;
  }
  const dataSet = { name: 'wdbc', features: names.map((name): FeatureSpec => ({ name, kind: 'numeric' })), x: { data, rows, cols: d }, y };
  checkCounts(dataSet, WDBC_COUNTS);
  return dataSet;
}

function checkCounts(set: TabularDataSet, expected: { rows: number; positives: number }): void {
  const positives = set.y.reduce((a, b) => a + b, 0);
  if (set.x.rows !== expected.rows || positives !== expected.positives) {
    throw new Error(`${set.name}: ${set.x.rows} rows with ${positives} positive, expected ${expected.rows} with ${expected.positives}; is the copy in data/ intact (test/data.test.ts checks its SHA-256 sums)?`);
  }
}
