/**
 * Safe clinical entry and the provider's patient list, clicked through the EHR Manager in Chromium
 * (issue 18): St Mary's signs in with its keystore file and sees every patient of its store with
 * birth date and identifier and whether each is on MedLedger; searches by name; the record form
 * refuses an impossible HbA1c next to the field (−5 %, 99,999 %), asks for a confirmation of an
 * unlikely one (16 %), refuses a future date, and saves a normal value with the date and time it was
 * measured, which then shows in the patient's records with its reference range; a bad query shows the
 * gatekeeper's OperationOutcome text. axe finds no serious or critical violation, and the view fits a
 * 390 px wide phone.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from '@playwright/test';
import type { Observation, Patient } from '@medplum/fhirtypes';
import type { RunningSystem } from '../src/manager/system.js';
import { ADDRESS_SYSTEM } from '../src/protocol/identifiers.js';
import { describeViolations, seriousViolations } from './helpers/axe.js';
import { noBrowser, signIn, startBrowserDemo, type DemoUser } from './helpers/browser.js';

let system: RunningSystem;
let browser: Browser;
let user: (name: string) => DemoUser;
let hospital: Page;

before(async () => {
  if (noBrowser) return;
  ({ system, browser, user } = await startBrowserDemo());
  hospital = await signIn(browser, system.url, user('st-marys'));
});

after(async () => {
  await browser?.close();
  await system?.stop();
});

const store = () => system.gatekeepers.get('st-marys')!.store;

/** helpers/axe.ts's check on the whole page: the provider view, its header and its notification centre. */
async function assertAccessible(page: Page, where: string) {
  const problems = await seriousViolations(page);
  assert.deepEqual(problems, [], `${where}:\n${describeViolations(problems)}`);
}

async function hba1cValuesOf(patientId: string): Promise<number[]> {
  const found = (await store().search('Observation', `code=http://loinc.org|4548-4&patient=Patient/${patientId}&_count=1000`)).resources as Observation[];
  return found.map((o) => o.valueQuantity!.value!);
}

test('the provider sees every patient of its store, with birth date, identifier and link state, and searches by name', { skip: noBrowser, timeout: 300_000 }, async () => {
  const patients = (await store().search('Patient', '_count=1000')).resources as Patient[];
  assert.ok(patients.length >= 3, 'the demo store holds the demo patients');
  const table = hospital.getByTestId('provider-patients');
  await table.getByTestId('patient-row').nth(patients.length - 1).waitFor({ timeout: 60_000 });
  assert.equal(await table.getByTestId('patient-row').count(), patients.length, 'every patient of the store is listed');
  for (const p of patients) {
    const mrn = p.identifier!.find((i) => i.system !== ADDRESS_SYSTEM)!.value!;
    const row = table.getByTestId('patient-row').filter({ hasText: mrn });
    assert.equal(await row.getByTestId('patient-birth').innerText(), p.birthDate);
    assert.match(await row.getByTestId('patient-identifier').innerText(), new RegExp(`MRN ${mrn}`));
    const linked = p.identifier!.some((i) => i.system === ADDRESS_SYSTEM);
    assert.match(await row.getByTestId('patient-linked').innerText(), linked ? /^Linked/ : /Not linked yet/);
    assert.equal(await row.getByRole('button', { name: 'Find and link' }).count(), linked ? 0 : 1);
  }
  assert.match(await hospital.getByTestId('patient-count').innerText(), new RegExp(`^${patients.length} patients in your store`));

  // A patient who has not registered: "Find and link" says so in words.
  const unlinked = table.getByTestId('patient-row').filter({ hasText: 'Not linked yet' }).first();
  await unlinked.getByRole('button', { name: 'Find and link' }).click();
  const refusal = hospital.getByRole('alert').filter({ hasText: 'could not be linked' });
  await refusal.waitFor({ timeout: 30_000 });
  assert.match(await refusal.innerText(), /The gatekeeper refused the link: no patient is registered under that identity \(404\)/);

  await hospital.getByLabel(/Search by name, MRN or birth date/).fill('bob');
  await hospital.getByTestId('patient-count').filter({ hasText: /^1 of \d+ patients match/ }).waitFor();
  assert.match(await table.getByTestId('patient-row').innerText(), /Bob/);
  const bob = patients.find((p) => p.name?.[0]?.given?.[0] === 'Bob')!;
  await hospital.getByLabel(/Search by name, MRN or birth date/).fill(bob.birthDate!);
  await hospital.getByTestId('patient-count').filter({ hasText: /^1 of/ }).waitFor();
  assert.match(await table.getByTestId('patient-row').innerText(), /Bob/);
  await hospital.getByLabel(/Search by name, MRN or birth date/).fill('');
  await assertAccessible(hospital, 'provider: patient list');
});

test('the record form refuses the impossible, confirms the unlikely, and saves a value with its date, time and range', { skip: noBrowser, timeout: 300_000 }, async () => {
  await hospital.getByTestId('provider-patients').getByRole('button', { name: /Alice/ }).click();
  const form = hospital.getByTestId('record-form');
  await form.waitFor({ timeout: 30_000 });
  const alice = (await store().search('Patient', `identifier=urn:medledger:demo-mrn|100001`)).resources[0]!;
  const before = await hba1cValuesOf(alice.id!);

  await form.getByTestId('record-lab-search').fill('sugar');
  await form.getByTestId('record-lab').selectOption('hba1c');
  assert.match(await form.getByTestId('record-lab').locator('option:checked').innerText(), /Blood sugar \(HbA1c\) — Hemoglobin A1c/);
  assert.match(await form.getByTestId('record-range').innerText(), /Reference range \(female\): 4–5\.6 %/);
  const value = form.getByLabel(/^Value in %/);
  for (const typed of ['-5', '99999']) {
    await value.fill(typed);
    await form.getByTestId('record-save').click();
    const error = form.getByTestId('record-value-error');
    await error.waitFor();
    assert.match(await error.innerText(), new RegExp(`HbA1c of ${typed} % is impossible: a measured HbA1c is between 2 and 25 %`));
    assert.equal(await value.getAttribute('aria-invalid'), 'true');
    assert.match((await value.getAttribute('aria-describedby')) ?? '', /record-value-error/, 'the error is tied to its field');
  }
  await assertAccessible(hospital, 'provider: the record form with an error');

  await value.fill('16');
  await form.getByTestId('record-unlikely').waitFor();
  assert.match(await form.getByTestId('record-unlikely').innerText(), /HbA1c of 16 % is very unusual/);
  await form.getByTestId('record-save').click();
  await form.getByTestId('record-confirm-error').waitFor();
  await form.getByLabel('I confirm this value').check();
  await form.getByTestId('record-save').click();
  await form.getByRole('status').filter({ hasText: /Saved Observation\// }).waitFor({ timeout: 60_000 });
  assert.deepEqual((await hba1cValuesOf(alice.id!)).sort(), [...before, 16].sort(), 'only the confirmed 16 % was stored');

  await value.fill('5.4');
  await form.getByTestId('record-when').fill('2099-01-01T10:00');
  await form.getByTestId('record-save').click();
  assert.match(await form.getByTestId('record-when-error').innerText(), /in the future/);
  await form.getByTestId('record-when').fill('2026-11-03T12:15');
  assert.match(await form.getByTestId('record-range').innerText(), /This value is Normal/);
  const previous = await form.getByRole('status').innerText();
  await form.getByTestId('record-save').click();
  await hospital.waitForFunction((prev) => {
    const text = document.querySelector('[data-testid=record-form] [role=status]')?.textContent;
    return !!text && text !== prev;
  }, previous, { timeout: 60_000 });
  const id = /Saved Observation\/([^;\s]+)/.exec(await form.getByRole('status').innerText())![1]!;
  const stored = (await store().read('Observation', id)) as Observation;
  assert.equal(stored.valueQuantity?.value, 5.4);
  assert.equal(stored.effectiveDateTime, await hospital.evaluate(() => new Date('2026-11-03T12:15').toISOString()), 'the date and time entered, not the time of saving');
  assert.deepEqual(stored.referenceRange?.[0]?.low?.value, 4);
  assert.equal(stored.interpretation?.[0]?.coding?.[0]?.code, 'N');
  const row = hospital.getByTestId('patient-panel').getByTestId('lab-table').locator('tr', { hasText: '2026-11-03' });
  await row.waitFor({ timeout: 30_000 });
  assert.match(await row.innerText(), /5\.4 %\s+4–5\.6 %\s+Normal/);
});

test('a bad query shows the OperationOutcome text; the provider view has no serious axe violation and fits 390 px', { skip: noBrowser, timeout: 300_000 }, async () => {
  await hospital.getByLabel('FHIR search, after /fhir/R4/').fill('Observation?foo=bar');
  await hospital.getByTestId('query-run').click();
  const error = hospital.getByTestId('query-error');
  await error.waitFor({ timeout: 30_000 });
  assert.equal(await error.innerText(), 'The gatekeeper refused the search: Unknown search parameter "foo" (400).');
  await assertAccessible(hospital, 'provider: a patient chosen and a refused query');
  await hospital.setViewportSize({ width: 390, height: 844 });
  await hospital.getByTestId('patient-panel').waitFor();
  const width = await hospital.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `the page is ${width} px wide at 390 px`);
  // The ML panels' tables are the ML views' (their sideways scroll at 390 px is not keyboard-reachable yet).
  await assertAccessible(hospital, 'provider at 390 px');
});
