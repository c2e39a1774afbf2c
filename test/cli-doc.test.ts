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

test('provider upload: stored as a DocumentReference through the provider\'s gatekeeper, with the confirmed type; provider register-app and apps', { timeout: 300_000 }, async () => {
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

    // The same gatekeeper: the provider registers a SMART app (issue 17) with a signed request, lists
    // it, and the public registration the consent screen reads names it; bad input is one line.
    const registered = await runCli(['--as', 'st-marys', 'provider', 'register-app', 'lab-viewer', '--name', 'Lab Viewer', '--redirect-uri', 'http://localhost:3000/app.html', '--gatekeeper', gk.url], env);
    assert.equal(registered.code, 0, registered.stderr);
    assert.match(registered.stdout, /^registered Lab Viewer \(client id lab-viewer\); grants to it go to 0x[0-9a-fA-F]{4}…[0-9a-fA-F]{4}; redirects to http:\/\/localhost:3000\/app\.html$/m);
    const listed = JSON.parse((await runCli(['--json', '--as', 'st-marys', 'provider', 'apps', '--gatekeeper', gk.url], env)).stdout) as { clientId: string; name: string; redirectUris: string[]; address: string }[];
    assert.deepEqual(listed.map((a) => [a.clientId, a.name, a.redirectUris]), [['lab-viewer', 'Lab Viewer', ['http://localhost:3000/app.html']]]);
    const publicView = (await (await fetch(`${gk.url}/smart/apps/lab-viewer`)).json()) as { name: string; address: string };
    assert.deepEqual([publicView.name, publicView.address], ['Lab Viewer', listed[0]!.address]);
    await fails(['--as', 'st-marys', 'provider', 'register-app', 'x', '--name', 'X', '--redirect-uri', 'not a url', '--gatekeeper', gk.url], /app registration: redirectUris must be absolute URLs/);
    await fails(['--as', 'carol', 'provider', 'register-app', 'y', '--name', 'Y', '--redirect-uri', 'http://localhost/y', '--gatekeeper', gk.url], /^medledger: only a provider registers and lists its SMART apps: run with --as <provider>\n$/);
  } finally {
    await gk.close();
    await runtime.stop();
    await started.stop();
  }
});
