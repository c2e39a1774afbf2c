/**
 * A provider uploads a scan in Chromium (issue 15 §5, acceptance): St Mary's signs in with its
 * keystore file, selects Alice, uploads a page rendered by src/ml/scan-render.ts (TrueType font,
 * skewed 1°) from a file, sees the suggested specialty with its probability, confirms it, and the
 * document is in Alice's records: on the page, and in St Mary's store with the file's bytes.
 *
 * The suggestion shown is checked against what the manager's API answers for the same bytes, so the
 * page is tested on the service's real output, not on a number written here.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DocumentReference } from '@medplum/fhirtypes';
import { ADDRESS_SYSTEM } from '../../src/protocol/identifiers.js';
import { encodePng } from '../../src/ml/raster.js';
import { rotate } from '../../src/ml/scan-degrade.js';
import { renderPage } from '../../src/ml/scan-render.js';
import { probabilityText, type ClassifyResult } from '../../src/ml/uploads.js';
import { SCREENSHOT_DIR, signIn } from '../helpers/browser.js';
import type { MlBrowserContext } from './context.js';

const REFERRAL = 'Referral letter. Recurrent atrial fibrillation and ventricular tachycardia after myocardial infarction; coronary artery disease with heart failure and hypertension. Please assess for ablation.';

export async function providerUploadsAScan(ctx: MlBrowserContext): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'medledger-upload-'));
  const file = join(dir, 'referral.png');
  writeFileSync(file, encodePng(rotate(renderPage(REFERRAL, { widthIn: 6 }), 1)));
  const bytes = readFileSync(file);
  try {
    // What the service says about these bytes (the page must show the same).
    const res = await fetch(`${ctx.system.url}/api/documents/classify`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: bytes });
    assert.equal(res.status, 200, await res.clone().text());
    const expected = (await res.json()) as ClassifyResult;
    const top = expected.suggestions[0]!;
    assert.equal(top.label, 'cardiovascular diseases', 'a cardiology referral is suggested as cardiovascular');

    const hospital = await signIn(ctx.browser, ctx.system.url, ctx.user('st-marys'));
    await hospital.getByTestId('provider-patients').getByRole('button', { name: /Alice/ }).click();
    const upload = hospital.getByTestId('upload');
    await upload.getByTestId('upload-file').setInputFiles(file);
    await upload.getByTestId('upload-classify').click();
    const suggestion = upload.getByTestId('upload-suggestion');
    await suggestion.waitFor({ timeout: 120_000 });
    assert.equal(await suggestion.getByTestId('upload-top-label').textContent(), top.label);
    assert.equal(await suggestion.getByTestId('upload-top-probability').textContent(), probabilityText(top.probability));
    assert.ok(await suggestion.getByRole('radio', { name: new RegExp(top.label) }).isChecked(), 'the suggestion is preselected');
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await upload.screenshot({ path: join(SCREENSHOT_DIR, 'provider-upload.png') });

    await upload.getByTestId('upload-save').click();
    await upload.getByTestId('upload-saved').waitFor({ timeout: 60_000 });
    // The records list reloads and shows the document with its confirmed type.
    await hospital.getByText(/Document: referral\.png — cardiovascular diseases \(confirmed by the clinician/).waitFor({ timeout: 60_000 });

    const gk = ctx.system.gatekeepers.get('st-marys')!;
    const address = `0x${(JSON.parse(readFileSync(ctx.user('alice').keystoreFile, 'utf8')) as { address: string }).address.replace(/^0x/, '').toLowerCase()}`;
    const alice = await gk.store.findPatientByIdentifier(ADDRESS_SYSTEM, address);
    assert.ok(alice?.id);
    const stored = (await gk.store.everything(alice.id)).filter((r): r is DocumentReference => r.resourceType === 'DocumentReference' && r.content[0]?.attachment.title === 'referral.png');
    assert.equal(stored.length, 1);
    assert.deepEqual([stored[0]!.docStatus, stored[0]!.type?.text], ['final', 'cardiovascular diseases']);
    assert.deepEqual(Buffer.from(stored[0]!.content[0]!.attachment.data!, 'base64'), bytes);
    await hospital.context().close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
