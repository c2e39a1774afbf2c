/**
 * `medledger doc classify` and `medledger provider upload` through the real binary: a small scanned
 * page read by OCR (the only OCR here), a born-digital PDF as --json, one-line errors with a
 * non-zero exit, and an upload stored in the provider's store through its gatekeeper.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { DocumentReference } from '@medplum/fhirtypes';
import { createLedgerClient } from '../src/chain/client.js';
import { openChain } from '../src/chain/runtime.js';
import { readConfig } from '../src/config.js';
import { linkPatient } from '../src/gatekeeper/publish/publish.js';
import { startGatekeeper } from '../src/gatekeeper/run.js';
import { unlockUser } from '../src/keys/users.js';
import { encodePng } from '../src/ml/raster.js';
import { rotate } from '../src/ml/scan-degrade.js';
import { renderPage } from '../src/ml/scan-render.js';
import type { ClassifyResult } from '../src/ml/uploads.js';
import { loadPepper } from '../src/sdk/identity.js';
import { tempDir } from '../bench/harness/chain.js';
import { cliEnv, runCli, startCli, cliFailsInOneLine } from './helpers/cli.js';
import { testDatabase } from './helpers/db.js';
import { textPdf } from './helpers/pdf.js';

const files = mkdtempSync(join(tmpdir(), 'medledger-cli-doc-'));
const dataDir = tempDir('medledger-cli-doc-data-');
const env = cliEnv(dataDir);
after(() => {
  rmSync(files, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

const scan = join(files, 'referral.png');
writeFileSync(scan, encodePng(rotate(renderPage('Referral: atrial fibrillation and heart failure after myocardial infarction; coronary artery disease, hypertension.', { widthIn: 5 }), 1)));
const letter = join(files, 'letter.pdf');
writeFileSync(letter, textPdf(['Histology: metastatic breast carcinoma. Chemotherapy and radiotherapy of the tumor; survival of patients with malignant neoplasms and lymphoma. '.repeat(3)]));
const notes = join(files, 'notes.txt');
writeFileSync(notes, 'plain text');

const fails = (args: string[], message: RegExp) => cliFailsInOneLine(args, env, message);

test('doc classify: a table of suggestions for a scan, --json for a PDF, one-line errors', { timeout: 180_000 }, async () => {
  const table = await runCli(['doc', 'classify', scan], env);
  assert.equal(table.code, 0, table.stderr);
  const lines = table.stdout.trim().split('\n');
  assert.match(lines[0]!, /^document \(image\/png\), read by OCR, confidence \d+: \d+ words on 1 page$/);
  assert.match(lines[1]!, /^model document-classifier 0x[0-9a-f]{64}$/);
  assert.match(lines[3]!, /^suggestion\s+probability$/);
  assert.match(lines[4]!, /^cardiovascular diseases\s+(> 99|\d+) %$/, 'the most likely label first');
  assert.match(lines[8]!, /\s(< 1|\d+) %$/);
  assert.equal(lines.length, 5 + 4, 'all five labels');

  const json = await runCli(['doc', 'classify', letter, '--json'], env);
  assert.equal(json.code, 0, json.stderr);
  const result = JSON.parse(json.stdout) as ClassifyResult;
  assert.deepEqual([result.kind, result.source, result.suggestions[0]!.label], ['document', 'pdf-text', 'neoplasms']);

  await fails(['doc', 'classify', join(files, 'missing.pdf')], /^medledger: no such file: .*missing\.pdf\n$/);
  await fails(['doc', 'classify', notes], /notes\.txt is not a PDF, PNG or JPEG file/);
  await fails(['doc', 'classify', scan, '--kind', 'sideways'], /--kind must be auto, document or image/);
});

test('provider upload: stored as a DocumentReference through the provider\'s gatekeeper, with the confirmed type', { timeout: 300_000 }, async () => {
  const started = await startCli(env);
  const runtime = await openChain(readConfig({ ...env }));
  const stMarys = createLedgerClient(runtime.deployment, { account: unlockUser(dataDir, 'st-marys') });
  const gk = await startGatekeeper({ ledger: stMarys, database: await testDatabase() });
  try {
    const patientId = (await gk.store.create({ resourceType: 'Patient' })).id!;
    await linkPatient(gk.store, stMarys, patientId, 'urn:medledger:demo-mrn|100001', loadPepper(dataDir));

    const r = await runCli(['--json', '--as', 'st-marys', 'provider', 'upload', 'alice', scan, '--type', 'cardiovascular diseases', '--gatekeeper', gk.url], env);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { id: string; patient: string; docStatus: string };
    assert.deepEqual([out.patient, out.docStatus], [`Patient/${patientId}`, 'final']);
    const stored = (await gk.store.read('DocumentReference', out.id.split('/')[1]!)) as DocumentReference;
    assert.equal(stored.subject?.reference, `Patient/${patientId}`);
    assert.equal(stored.type?.text, 'cardiovascular diseases');
    assert.equal(stored.content[0]!.attachment.contentType, 'image/png');
    assert.deepEqual(Buffer.from(stored.content[0]!.attachment.data!, 'base64'), readFileSync(scan));

    await fails(['--as', 'st-marys', 'provider', 'upload', 'bob', scan, '--type', 'neoplasms', '--gatekeeper', gk.url], /bob is not linked to a patient in this provider's store/);
    await fails(['--as', 'st-marys', 'provider', 'upload', 'alice', notes, '--gatekeeper', gk.url], /notes\.txt is not a PDF, PNG or JPEG file/);
  } finally {
    await gk.close();
    await runtime.stop();
    await started.stop();
  }
});
