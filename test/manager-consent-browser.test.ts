/**
 * Safe consent actions in the patient view (issue 18), clicked through in Chromium on one demo system:
 * rejecting a provider asks first (Cancel and Escape change nothing, focus goes back), stops sharing but
 * not the patient's own view, stays Rejected when the provider adds records, and can be undone — the
 * share made before works again. Sharing takes a picked day (never a past one), revoking asks first, and
 * the history shows active, revoked and expired shares with their use. Forbidding emergency access asks
 * first. Every view and the open dialog: 0 serious or critical axe violations; Sharing fits 390 px.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from '@playwright/test';
import type { RunningSystem } from '../src/manager/system.js';
import { describeViolations, seriousViolations } from './helpers/axe.js';
import { providerAddsLabResult } from './helpers/provider-writes.js';
import { noBrowser, SCREENSHOT_DIR, signIn, startBrowserDemo, type DemoUser } from './helpers/browser.js';
import { travel, travelSkip } from './helpers/time.js';

let system: RunningSystem;
let browser: Browser;
let user: (name: string) => DemoUser;

before(async () => {
  if (!noBrowser && !travelSkip) ({ system, browser, user } = await startBrowserDemo());
});

after(async () => {
  await browser?.close();
  await system?.stop();
});

const LONG = { timeout: 60_000 };
const row = (page: Page, testId: string, text: string) => page.getByTestId(testId).locator('tr', { hasText: text });

async function assertAccessible(page: Page, where: string): Promise<void> {
  const problems = await seriousViolations(page);
  assert.equal(problems.length, 0, `${where}: ${describeViolations(problems)}`);
}

/** yyyy-mm-dd of the local day `days` from today (what a person picks on the calendar). */
function localDay(days: number): string {
  const d = new Date();
  d.setDate(d.getDate() + days);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** Carol opens Alice's St Mary's lab results: the data, or the gatekeeper's refusal. */
async function carolReads(carol: Page, expect: 'data' | 'refused'): Promise<void> {
  await carol.getByTestId('received-grant').filter({ hasText: 'Lab results' }).first().getByRole('button', { name: 'Read' }).click();
  if (expect === 'data') await carol.getByTestId('granted-data').waitFor(LONG);
  else assert.match(await carol.getByTestId('read-error').innerText({ timeout: 60_000 }), /403/);
}

async function share(alice: Page, provider: string, viewer: string, expiry: string, day?: string): Promise<void> {
  await alice.getByTestId('share-provider').selectOption({ label: provider });
  await alice.getByTestId('share-scope').selectOption({ label: 'Lab results' });
  await alice.getByTestId('share-viewer').selectOption({ label: viewer });
  await alice.getByTestId('share-expiry').selectOption({ label: expiry });
  if (day) await alice.getByTestId('share-expiry-date').fill(day);
  await alice.getByRole('button', { name: 'Share', exact: true }).click();
}

test('reject, undo, share until a day, revoke, history and forbid — each asked first', { skip: noBrowser ?? travelSkip, timeout: 600_000 }, async () => {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const alice = await signIn(browser, system.url, user('alice'));
  const carol = await signIn(browser, system.url, user('carol'));
  const stMarys = row(alice, 'inbox', "St Mary's Hospital");
  await stMarys.waitFor(LONG);
  await assertAccessible(alice, 'Inbox');

  // Alice shares St Mary's lab results with Carol for a week; Carol reads them.
  await alice.getByRole('button', { name: 'Sharing' }).click();
  await share(alice, "St Mary's Hospital", 'Carol (researcher)', '1 week');
  await alice.getByRole('status').filter({ hasText: /Shared Lab results from St Mary's Hospital with Carol \(researcher\) until/ }).waitFor(LONG);
  await carol.getByTestId('received-grant').filter({ hasText: 'Lab results' }).waitFor(LONG);
  await carolReads(carol, 'data');

  // Reject asks first, in plain words. Cancel changes nothing and gives the focus back to Reject; so does Escape.
  await alice.getByRole('button', { name: 'Inbox' }).click();
  const before = await stMarys.getByTestId('status').innerText();
  const dialog = alice.getByRole('dialog');
  await stMarys.getByRole('button', { name: 'Reject' }).click();
  await dialog.waitFor();
  const words = await dialog.innerText();
  assert.match(words, /St Mary's Hospital's records will no longer be shared with anyone you shared them with \(Carol \(researcher\): Lab results until \d+ \w+ \d{4}\)/);
  assert.match(words, /You will still see them yourself\. You can undo this/);
  assert.doesNotMatch(words, /0x[0-9a-f]/i, 'no addresses or hashes in the dialog');
  await assertAccessible(alice, 'the reject dialog');
  await alice.screenshot({ path: join(SCREENSHOT_DIR, 'patient-reject-dialog.png') });
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached' });
  assert.equal(await alice.evaluate(() => document.activeElement?.textContent), 'Reject', 'focus is back on the button that opened the dialog');
  await stMarys.getByRole('button', { name: 'Reject' }).click();
  await dialog.waitFor();
  await alice.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.equal(await stMarys.getByTestId('status').innerText(), before, 'Cancel and Escape leave the status as it was');

  // Confirmed: Rejected, with its meaning; Undo right away accepts again and says the share works again.
  await stMarys.getByRole('button', { name: 'Reject' }).click();
  await dialog.getByRole('button', { name: 'Yes, reject' }).click();
  await stMarys.getByTestId('status').filter({ hasText: 'Rejected' }).waitFor(LONG);
  assert.match(await stMarys.innerText(), /No one you shared these with can read them\. You still see them yourself/);
  await alice.getByTestId('undo-reject').click();
  await stMarys.getByTestId('status').filter({ hasText: 'Accepted' }).waitFor(LONG);
  assert.match(await alice.getByTestId('inbox-message').innerText(), /These shares work again: Carol \(researcher\): Lab results until/);

  // Rejected again: Carol is refused, and Alice still sees St Mary's records herself.
  await stMarys.getByRole('button', { name: 'Reject' }).click();
  await dialog.getByRole('button', { name: 'Yes, reject' }).click();
  await stMarys.getByTestId('status').filter({ hasText: 'Rejected' }).waitFor(LONG);
  await carolReads(carol, 'refused');
  await alice.getByRole('button', { name: 'Records' }).click();
  const source = alice.getByTestId('source').filter({ hasText: "St Mary's Hospital" });
  await source.filter({ hasText: /\d+ records/ }).waitFor(LONG);
  assert.ok(Number(/(\d+) records/.exec(await source.innerText())![1]) > 0, "St Mary's records are still listed for Alice");

  // St Mary's adds a lab result after the rejection: the relationship stays Rejected and the inbox says what happened.
  await providerAddsLabResult(system, 'st-marys', user('alice').keystoreFile);
  await alice.getByRole('button', { name: /^Inbox/ }).click();
  await stMarys.getByTestId('changed-since-rejection').waitFor(LONG);
  assert.equal(await stMarys.getByTestId('status').innerText(), 'Rejected', 'a provider update does not reopen a rejected relationship');
  assert.match(await stMarys.getByTestId('changed-since-rejection').innerText(), /added or changed records since you rejected them on .* still not shared/);

  // "Accept after all" lists the share that comes back; Carol can read again.
  await stMarys.getByRole('button', { name: 'Accept after all' }).click();
  assert.match(await dialog.innerText(), /Carol \(researcher\): Lab results until/);
  await dialog.getByRole('button', { name: 'Yes, accept' }).click();
  await stMarys.getByTestId('status').filter({ hasText: 'Accepted' }).waitFor(LONG);
  await carolReads(carol, 'data');

  // Sharing until a picked day: a past day is refused in words; tomorrow is taken. A share with no expiry to Dana.
  await alice.getByRole('button', { name: 'Sharing' }).click();
  await share(alice, 'City Laboratory', 'Carol (researcher)', 'until a day I choose…', localDay(-1));
  assert.match(await alice.getByRole('alert').innerText({ timeout: 60_000 }), /tomorrow or later/);
  assert.equal(await alice.getByTestId('share-expiry-date').getAttribute('min'), localDay(1));
  await share(alice, 'City Laboratory', 'Carol (researcher)', 'until a day I choose…', localDay(1));
  await alice.getByRole('status').filter({ hasText: /Shared Lab results from City Laboratory with Carol \(researcher\) until/ }).waitFor(LONG);
  await share(alice, "St Mary's Hospital", 'Dana (public health)', 'no expiry (until I revoke it)');
  await alice.getByRole('status').filter({ hasText: /with Dana \(public health\) with no end date/ }).waitFor(LONG);
  const viewers = await alice.getByTestId('share-viewer').locator('option').allInnerTexts();
  assert.ok(!viewers.some((v) => /St Mary's|patient/.test(v)), `St Mary's records are not offered to St Mary's or to patients: ${viewers.join(', ')}`);

  // Revoke asks first; confirmed, Carol's St Mary's share ends.
  const carolsStMarys = alice.getByTestId('grants').locator('tr', { hasText: "Lab results from St Mary's Hospital" }).filter({ hasText: 'Carol' });
  await carolsStMarys.getByRole('button', { name: 'Revoke' }).click();
  assert.match(await dialog.innerText(), /Carol \(researcher\) will no longer be able to read Lab results from St Mary's Hospital/);
  await assertAccessible(alice, 'the revoke dialog');
  await dialog.getByRole('button', { name: 'Yes, revoke' }).click();
  await alice.getByRole('status').filter({ hasText: /Revoked Carol \(researcher\)'s access to Lab results from St Mary's Hospital/ }).waitFor(LONG);
  await carolsStMarys.waitFor({ state: 'detached', timeout: 60_000 });

  // Three days later (chain time) the City Laboratory share has expired; the history has every kind of row.
  await travel(system.gatekeepers.get('st-marys')!.ledger, 3 * 86_400);
  await alice.getByRole('button', { name: 'Refresh' }).click();
  const history = alice.getByTestId('share-history-row');
  await history.filter({ hasText: 'Expired' }).waitFor(LONG);
  const revoked = alice.locator('[data-testid="share-history-row"][data-state="revoked"]').filter({ hasText: "Lab results from St Mary's Hospital" }).filter({ hasText: 'Carol' });
  assert.match(await revoked.innerText(), /Revoked \d+ \w+ \d{4}[\s\S]*Read \d+ times?, last/, 'the revoked share says who used it and when');
  assert.match(await history.filter({ hasText: 'City Laboratory' }).innerText(), /Carol[\s\S]*Expired \d+ \w+ \d{4}[\s\S]*Not read/);
  assert.match(await history.filter({ hasText: 'Dana' }).innerText(), /Active, no end date/);
  assert.equal(await alice.getByTestId('grants').locator('tr', { hasText: 'City Laboratory' }).count(), 0, 'an expired share is no longer under "who can see what now"');
  await assertAccessible(alice, 'Sharing');
  await alice.setViewportSize({ width: 390, height: 844 });
  assert.ok((await alice.evaluate(() => document.documentElement.scrollWidth)) <= 390, 'Sharing fits a 390 px wide phone');
  // Into an ignored folder, like the other browser tests' pictures.
  await alice.screenshot({ path: join(SCREENSHOT_DIR, 'patient-sharing-phone.png'), fullPage: true });
  await alice.setViewportSize({ width: 1200, height: 900 });

  // Forbidding emergency access asks first: Cancel leaves it allowed; confirmed, it is forbidden.
  await alice.getByRole('button', { name: 'Emergency & recovery' }).click();
  const allowed = alice.getByTestId('emergency-allowed');
  await allowed.waitFor(LONG);
  assert.equal(await allowed.innerText(), 'allowed');
  await assertAccessible(alice, 'Emergency & recovery');
  await alice.getByTestId('emergency-toggle').click();
  assert.match(await dialog.innerText(), /no provider will be able to open your allergies, medications/);
  await assertAccessible(alice, 'the forbid dialog');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached' });
  assert.equal(await allowed.innerText(), 'allowed');
  await alice.getByTestId('emergency-toggle').click();
  await dialog.getByRole('button', { name: 'Yes, forbid' }).click();
  await allowed.filter({ hasText: 'forbidden' }).waitFor(LONG);
});
