/**
 * The vendored data sets (data/README.md): every file matches data/SHA256SUMS, nothing unlisted
 * sits beside them, the per-set MD5SUMS still hold, and the row and class counts the READMEs state
 * are what the files contain. Also how `dataDir()` (src/ml/data-dir.ts) finds the folder.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { test } from 'node:test';
import { dataDir, DATA_DIR_ENV, findDataDir } from '../src/ml/data-dir.js';
import { parseCsv } from '../src/ml/documents.js';

const root = dataDir();
const read = (path: string) => readFileSync(join(root, path));
const text = (path: string) => read(path).toString('utf8');
const digest = (algorithm: string, path: string) => createHash(algorithm).update(read(path)).digest('hex');
/** Non-empty lines, so a final `\n` does not count as a row. */
const lines = (path: string) => text(path).split('\n').filter((l) => l !== '');

/** `<hex>  <path>` lines (sha256sum / md5sum format) as path → hex. */
function sums(path: string): Map<string, string> {
  return new Map(lines(path).map((line) => {
    const m = /^([0-9a-f]{32,64}) [ *](.+)$/.exec(line);
    assert.ok(m, `${path}: malformed line ${JSON.stringify(line)}`);
    return [m[2]!, m[1]!];
  }));
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [relative(root, join(dir, e.name)).split(sep).join('/')]);
}

const manifest = sums('SHA256SUMS');

test('every file listed in data/SHA256SUMS has its SHA-256', () => {
  assert.ok(manifest.size >= 40, `only ${manifest.size} files listed`);
  for (const [path, expected] of manifest) assert.equal(digest('sha256', path), expected, path);
});

test('every data file is listed in SHA256SUMS (only READMEs are not)', () => {
  const unlisted = filesUnder(root).filter((f) => !manifest.has(f) && f !== 'SHA256SUMS' && !/(^|\/)README\.md$/.test(f));
  assert.deepEqual(unlisted, []);
  for (const folder of ['uci-heart', 'wdbc', 'outbreaks', 'images', 'documents', 'synthea-sample']) {
    assert.ok(filesUnder(root).includes(`${folder}/README.md`), `${folder} keeps its README (licence, attribution)`);
  }
  assert.ok(manifest.has('documents/medical-abstracts/LICENSE'));
});

test('the per-set MD5SUMS the READMEs cite still hold', () => {
  for (const folder of ['uci-heart', 'images', 'documents/medical-abstracts']) {
    for (const [file, md5] of sums(`${folder}/MD5SUMS`)) assert.equal(digest('md5', `${folder}/${file}`), md5, `${folder}/${file}`);
  }
});

test('UCI heart disease: 303 / 294 / 123 / 200 rows, 14 fields, 139 / 106 / 115 / 149 with disease', () => {
  const expected = { cleveland: [303, 139], hungarian: [294, 106], switzerland: [123, 115], va: [200, 149] };
  for (const [hospital, [rows, positives]] of Object.entries(expected)) {
    const fields = lines(`uci-heart/processed.${hospital}.data`).map((l) => l.split(','));
    assert.equal(fields.length, rows, hospital);
    assert.ok(fields.every((f) => f.length === 14), hospital);
    assert.equal(fields.filter((f) => Number(f[13]) > 0).length, positives, hospital);
  }
});

test('WDBC: 569 rows + header, 212 M / 357 B', () => {
  const [header, ...rows] = lines('wdbc/wdbc.csv').map((l) => l.split(','));
  assert.equal(header!.at(-1), 'diagnosis');
  assert.equal(rows.length, 569);
  assert.equal(rows.filter((r) => r.at(-1) === 'M').length, 212);
  assert.equal(rows.filter((r) => r.at(-1) === 'B').length, 357);
});

test('outbreaks: the README row counts and case totals; serial intervals sum to 1', () => {
  const column = (file: string, name: string) => {
    const [header, ...rows] = lines(`outbreaks/${file}`).map((l) => l.split(','));
    const j = header!.indexOf(name);
    assert.ok(j >= 0, `${file} has no column ${name}`);
    return rows.map((r) => Number(r[j]));
  };
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const expected: [string, string, number, number][] = [
    ['salmonella-agona-uk-weekly.csv', 'cases', 312, 897],
    ['influenza-meningococcal-de-weekly.csv', 'influenza', 312, 32_828],
    ['influenza-meningococcal-de-weekly.csv', 'meningococcal', 312, 3_147],
    ['campylobacter-de-weekly.csv', 'cases', 522, 604_962],
    ['flu1918-baltimore-daily.csv', 'incidence', 92, 6_202],
    ['sars2003-hongkong-daily.csv', 'incidence', 107, 1_467],
  ];
  for (const [file, name, rows, total] of expected) {
    const values = column(file, name);
    assert.equal(values.length, rows, file);
    assert.equal(sum(values), total, `${file} ${name}`);
  }
  for (const [file, rows] of [['flu1918-baltimore-serial-interval.csv', 12], ['sars2003-hongkong-serial-interval.csv', 25]] as const) {
    const p = column(file, 'probability');
    assert.equal(p.length, rows, file);
    assert.ok(Math.abs(sum(p) - 1) < 1e-6, `${file} sums to ${sum(p)}`);
  }
  assert.equal(lines('outbreaks/campylobacter-de-weekly.csv').at(-1)!.split(',')[2], '', 'the documented empty humidity field');
});

test('MedMNIST: split sizes, class counts and 784 bytes per image', () => {
  const expected = {
    pneumoniamnist: { train: [1214, 3494], val: [135, 389], test: [234, 390] },
    breastmnist: { train: [147, 399], val: [21, 57], test: [42, 114] },
  };
  for (const [set, splits] of Object.entries(expected)) {
    const labels = lines(`images/${set}/labels.csv`).slice(1).map((l) => l.split(','));
    for (const [split, counts] of Object.entries(splits)) {
      const rows = labels.filter(([s]) => s === split);
      assert.deepEqual([0, 1].map((k) => rows.filter((r) => r[2] === String(k)).length), counts, `${set} ${split}`);
      assert.equal(read(`images/${set}/${split}_images.u8`).length, (counts[0]! + counts[1]!) * 784, `${set} ${split}`);
    }
  }
  assert.equal(filesUnder(join(root, 'images', 'samples')).length, 8);
});

test('medical abstracts: 2,888 rows, 2,770 distinct texts, 633 / 299 / 385 / 610 / 961 per class', () => {
  const [header, ...rows] = parseCsv(text('documents/medical-abstracts/medical_abstracts_test.csv'));
  assert.deepEqual(header, ['text', 'label']);
  assert.equal(rows.length, 2888);
  assert.equal(new Set(rows.map((r) => r[0])).size, 2770);
  const count = (label: string) => rows.filter((r) => r[1] === label).length;
  assert.deepEqual(
    ['neoplasms', 'digestive system diseases', 'nervous system diseases', 'cardiovascular diseases', 'general pathological conditions'].map(count),
    [633, 299, 385, 610, 961],
  );
});

test('Synthea sample: 1,609 FHIR resources, one type per file, 3 patients', () => {
  const expected: Record<string, number> = {
    Patient: 3, Encounter: 125, Condition: 58, MedicationRequest: 452, Procedure: 631, Immunization: 38,
    DocumentReference: 125, Device: 4, Organization: 43, Practitioner: 43, PractitionerRole: 43, Location: 44,
  };
  let total = 0;
  for (const [type, count] of Object.entries(expected)) {
    const resources = lines(`synthea-sample/${type}.ndjson`).map((l) => JSON.parse(l) as { resourceType: string; id: string });
    assert.equal(resources.length, count, type);
    assert.ok(resources.every((r) => r.resourceType === type && r.id), type);
    total += resources.length;
  }
  assert.equal(total, 1609);
  assert.deepEqual(filesUnder(join(root, 'synthea-sample')).filter((f) => f.endsWith('.ndjson')).length, Object.keys(expected).length);
});

test('dataDir: the first folder up holding package.json and data/, skipping a dist/ package; env override', () => {
  const repo = mkdtempSync(join(tmpdir(), 'data-dir-'));
  try {
    const module = join(repo, 'dist', 'src', 'ml');
    mkdirSync(module, { recursive: true });
    mkdirSync(join(repo, 'data'));
    writeFileSync(join(repo, 'package.json'), '{}');
    writeFileSync(join(repo, 'dist', 'package.json'), '{"type":"module"}');
    assert.equal(findDataDir(module), join(repo, 'data'));
    assert.equal(findDataDir(repo), join(repo, 'data'));
    // A data/ folder without a package.json beside it is not the repository's.
    mkdirSync(join(repo, 'dist', 'data'));
    rmSync(join(repo, 'dist', 'package.json'));
    assert.equal(findDataDir(module), join(repo, 'data'));

    assert.equal(dataDir({ [DATA_DIR_ENV]: join(repo, 'elsewhere') }), join(repo, 'elsewhere'));
    // Without the override: this checkout's data/, beside its package.json.
    assert.ok(existsSync(join(dataDir({}), 'SHA256SUMS')));
    assert.ok(existsSync(join(dirname(dataDir({})), 'package.json')));

    // Nothing qualifies: a clear error, unless the temp folder itself sits inside a checkout.
    rmSync(join(repo, 'data'), { recursive: true });
    const outer = (() => {
      try {
        return findDataDir(tmpdir());
      } catch {
        return undefined;
      }
    })();
    if (outer) assert.equal(findDataDir(module), outer);
    else assert.throws(() => findDataDir(module), new RegExp(`no data/ folder beside a package.json.*${DATA_DIR_ENV}`));
  } finally {
    rmSync(repo, { recursive: true, force: true });
  }
});
