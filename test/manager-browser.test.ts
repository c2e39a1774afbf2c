/**
 * The seed's whole flow, clicked through the EHR Manager in Chromium: a provider adds a lab result,
 * the patient sees the notification without reloading and accepts, shares labs with a researcher for
 * one day, the researcher sees exactly the labs, the patient revokes, the researcher is denied, and the
 * patient sees both reads in "who read my data". The hospital signs in with its keystore file (the
 * manager never hands out a provider's key). Also takes the README's screenshot of the patient view
 * (into test-results/screenshots/; `npm run screenshots` copies it into docs/).
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from '@playwright/test';
import type { Observation } from '@medplum/fhirtypes';
import type { RunningSystem } from '../src/manager/system.js';
import { codeText, quantityText } from '../src/manager/web/lib/fhir.js';
import { ADDRESS_SYSTEM } from '../src/protocol/identifiers.js';
import { noBrowser, SCREENSHOT_DIR, signIn, startBrowserDemo, type DemoUser } from './helpers/browser.js';

let system: RunningSystem;
let browser: Browser;
let user: (name: string) => DemoUser;

before(async () => {
  if (!noBrowser) ({ system, browser, user } = await startBrowserDemo());
});

after(async () => {
  await browser?.close();
  await system?.stop();
});

const row = (page: Page, testId: string, text: string) => page.getByTestId(testId).locator('tr', { hasText: text });

/** A lab row as the table shows it: test name and result (value with unit). */
const labText = (o: Observation) => `${codeText(o.code)} | ${quantityText(o.valueQuantity) || codeText(o.valueCodeableConcept)}`;

/** Every laboratory Observation St Mary's store holds for Alice: what a "Lab results" grant there covers. */
async function aliceLabsAtStMarys(): Promise<Observation[]> {
  const address = (JSON.parse(readFileSync(user('alice').keystoreFile, 'utf8')) as { address: string }).address.replace(/^0x/, '').toLowerCase();
  const store = system.gatekeepers.get('st-marys')!.store;
  const patient = await store.findPatientByIdentifier(ADDRESS_SYSTEM, `0x${address}`);
  assert.ok(patient?.id, "Alice is linked at St Mary's");
  return (await store.resultSet('Observation?category=laboratory', patient.id)) as Observation[];
}

test('the seed flow through the browser', { skip: noBrowser, timeout: 300_000 }, async () => {
  const alice = await signIn(browser, system.url, user('alice'));
  const hospital = await signIn(browser, system.url, user('st-marys'));
  const carol = await signIn(browser, system.url, user('carol'));

  // The patient's inbox shows both providers (opened at start from the demo records).
  await row(alice, 'inbox', "St Mary's Hospital").waitFor();

  // Alice has read everything so far: the seed's notifications are history, not what this test waits for.
  await alice.getByTestId('notification-bell').click(); // the notification centre (issue 18)
  await alice.getByTestId('notification-mark-all').click();
  await alice.getByTestId('notification-bell').and(alice.locator('[data-unread="0"]')).waitFor();

  // The provider adds a lab result for Alice.
  await hospital.getByTestId('provider-patients').getByRole('button', { name: /Alice/ }).click();
  await hospital.getByTestId('record-lab').selectOption('hba1c');
  await hospital.getByTestId('record-value').fill('7.2');
  await hospital.getByTestId('record-save').click();
  await hospital.getByTestId('record-form').getByRole('status').waitFor({ timeout: 60_000 });
  const savedText = await hospital.getByTestId('record-form').getByRole('status').innerText();
  assert.match(savedText, /Saved Observation\//);
  const saved = /Saved Observation\/([^;\s]+)/.exec(savedText)![1];

  // Alice gets the notification without reloading, and the inbox row changes.
  // The panel is still open: the new line arrives unread, pushed over the live stream.
  await alice.getByTestId('notifications').locator('li[data-unread="true"]', { hasText: /(New|Updated) record from St Mary's Hospital/ }).first().waitFor({ timeout: 30_000 });
  await row(alice, 'inbox', "St Mary's Hospital").getByRole('button', { name: 'Accept' }).click();
  await row(alice, 'inbox', "St Mary's Hospital").getByTestId('status').filter({ hasText: 'Accepted' }).waitFor({ timeout: 30_000 });

  // Alice shares St Mary's lab results with Carol for one day.
  await alice.getByRole('button', { name: 'Sharing' }).click();
  await alice.getByTestId('share-provider').selectOption({ label: "St Mary's Hospital" });
  await alice.getByTestId('share-scope').selectOption({ label: 'Lab results' });
  await alice.getByTestId('share-viewer').selectOption({ label: 'Carol (researcher)' });
  await alice.getByTestId('share-expiry').selectOption({ label: '1 day' });
  await alice.getByRole('button', { name: 'Share' }).click();
  await alice.getByRole('status').filter({ hasText: /Shared Lab results/ }).waitFor({ timeout: 30_000 });

  // Carol sees exactly the labs: every laboratory result St Mary's holds for Alice (the demo's
  // work-ups and the HbA1c just added), nothing else.
  const grantRow = carol.getByTestId('received-grant').filter({ hasText: 'Lab results' });
  await grantRow.waitFor({ timeout: 30_000 }).catch(async (e) => { mkdirSync(SCREENSHOT_DIR, { recursive: true }); await carol.screenshot({ path: join(SCREENSHOT_DIR, 'failed-carol.png') }); await alice.screenshot({ path: join(SCREENSHOT_DIR, 'failed-alice.png') }); throw e; });
  await grantRow.getByRole('button', { name: 'Read' }).click();
  const data = carol.getByTestId('granted-data');
  await data.waitFor({ timeout: 30_000 });
  const labRows = data.getByTestId('lab-table').locator('tbody tr');
  const held = await aliceLabsAtStMarys();
  assert.ok(held.some((o) => o.id === saved), `the HbA1c just saved (Observation/${saved}) is among St Mary's labs`);
  const shown: string[] = [];
  for (const r of await labRows.all()) {
    const cells = await r.locator('td').allInnerTexts();
    shown.push(`${cells[1]} | ${cells[2]}`);
    assert.equal(cells[5], "St Mary's Hospital", 'the From column names the provider, not the relationship id');
  }
  assert.deepEqual(shown.sort(), held.map(labText).sort(), 'the rows shown are exactly the laboratory Observations St Mary\'s holds for Alice');
  const hba1c = labRows.filter({ hasText: 'Hemoglobin A1c' }).filter({ hasText: '7.2 %' });
  assert.equal(await hba1c.count(), 1, 'the HbA1c 7.2 % row is shown once');
  assert.match(await hba1c.innerText(), /Hemoglobin A1c[\s\S]*7\.2 %[\s\S]*High/);
  assert.equal(await data.locator('.timeline li').count(), 0, 'no conditions, visits or other records');
  assert.match(await data.locator('p.muted').first().innerText(), new RegExp(`^${held.length} resources · data hash 0x[0-9a-f]{64}$`));

  // Alice revokes; Carol's next read is refused.
  await alice.getByTestId('grants').locator('tr', { hasText: 'Carol' }).getByRole('button', { name: 'Revoke' }).click();
  await alice.getByRole('dialog').getByRole('button', { name: 'Yes, revoke' }).click();
  await alice.getByRole('status').filter({ hasText: /Revoked/ }).waitFor({ timeout: 30_000 });
  await carol.getByTestId('received-grant').filter({ hasText: 'revoked by the patient' }).waitFor({ timeout: 30_000 });
  // What the revoked share showed leaves Carol's screen with the notification, before she clicks anything (issue 18).
  await carol.getByTestId('share-withdrawn').waitFor({ timeout: 30_000 });
  assert.equal(await carol.getByTestId('granted-data').count(), 0, 'the revoked data is no longer on screen');
  await carol.getByTestId('received-grant').filter({ hasText: 'Lab results' }).getByRole('button', { name: 'Read' }).click();
  await carol.getByTestId('read-error').waitFor({ timeout: 30_000 });
  assert.match(await carol.getByTestId('read-error').innerText(), /gatekeeper answered 403/);

  // "Who read my data" lists Carol's allowed read of the lab results and her refused one, in words.
  await alice.getByRole('button', { name: 'Who read my data' }).click();
  const carolRows = alice.getByTestId('audit-row').filter({ hasText: 'Carol' });
  await carolRows.nth(1).waitFor({ timeout: 30_000 });
  const texts = await carolRows.allInnerTexts();
  assert.ok(texts.some((t) => /Lab results\s+Allowed/.test(t)), texts.join('\n'));
  assert.ok(texts.some((t) => /Lab results\s+Refused/.test(t)), texts.join('\n'));

  // The README's picture of the patient view: the Records tab from the top, notification panel closed.
  if ((await alice.getByTestId('notification-bell').getAttribute('aria-expanded')) === 'true') await alice.getByTestId('notification-bell').click();
  await alice.getByRole('button', { name: 'Records' }).click();
  await alice.getByTestId('trend-chart').waitFor({ timeout: 60_000 });
  await alice.evaluate(() => window.scrollTo(0, 0));
  // Into an ignored folder: a test run changes no tracked file (`npm run screenshots` updates docs/).
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await alice.screenshot({ path: join(SCREENSHOT_DIR, 'patient-view.png') });
});
