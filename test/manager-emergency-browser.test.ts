/**
 * Break-glass and guardians clicked through the EHR Manager in Chromium (issue 8): a provider opens
 * emergency access to Alice with a reason and reads only the emergency data set from the other
 * provider; Alice is told without reloading, sees the read marked as emergency in "who read my data",
 * forbids emergency access, and the next provider's attempt is refused in plain words. Then Alice
 * names two guardians (2 of 2), one approves moving her to a new key, and she cancels it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from '@playwright/test';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { EMERGENCY_DATA_SET } from '../src/consent/emergency.js';
import type { RunningSystem } from '../src/manager/system.js';
import { noBrowser, signIn, startBrowserDemo, type DemoUser } from './helpers/browser.js';

let system: RunningSystem;
let browser: Browser;
let user: (name: string) => DemoUser;

before(async () => {
  if (!noBrowser) ({ system, browser, user } = await startBrowserDemo({ providerProcesses: true }));
});

after(async () => {
  await browser?.close();
  await system?.stop();
});

const REASON = 'unconscious on arrival, no next of kin';

test('break-glass: the provider reads only the emergency data set; the patient sees it and forbids it', { skip: noBrowser, timeout: 300_000 }, async () => {
  const alice = await signIn(browser, system.url, user('alice'));
  const lab = await signIn(browser, system.url, user('city-lab'));

  // City Laboratory opens emergency access to Alice, whose conditions and medications St Mary's holds.
  const chooseAlice = async (page: typeof lab) => {
    const option = page.getByTestId('emergency-patient').locator('option', { hasText: 'Alice' });
    await option.waitFor({ state: 'attached', timeout: 60_000 });
    await page.getByTestId('emergency-patient').selectOption((await option.getAttribute('value'))!);
  };
  await chooseAlice(lab);
  await lab.getByTestId('emergency-reason').fill(REASON);
  await lab.getByTestId('emergency-open').click();
  await lab.getByTestId('emergency').getByRole('status').filter({ hasText: /Emergency access to Alice .* is open/ }).waitFor({ timeout: 60_000 });
  assert.match(await lab.getByTestId('emergency-expiry').innerText(), /^until /);

  // Alice is told at once, without reloading.
  await alice.getByTestId('notification-bell').click(); // the notification centre (issue 18)
  await alice.getByTestId('notifications').locator('li[data-kind="break-glass"]', { hasText: 'City Laboratory' }).waitFor({ timeout: 30_000 });

  // The lab reads St Mary's records of Alice: the emergency data set and nothing else.
  await lab.getByTestId('emergency-read').click();
  await lab.getByTestId('emergency-data').waitFor({ timeout: 60_000 });
  const types = await lab.getByTestId('emergency-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-type')));
  const allowed = new Set(EMERGENCY_DATA_SET.map((r) => r.resourceType));
  assert.ok(types.includes('Condition'), types.join());
  assert.ok(types.every((t) => allowed.has(t!)), `outside the emergency data set: ${types.join()}`);
  assert.ok((await lab.getByTestId('emergency-row').allInnerTexts()).every((t) => t.includes("St Mary's Hospital")));

  // Alice is told of the reads too, and they do not push the opening out of sight.
  const notes = alice.getByTestId('notifications');
  await notes.locator('li[data-kind="grant-used"]', { hasText: /City Laboratory read .* at St Mary's Hospital in an emergency \(break-glass\)/ }).first().waitFor({ timeout: 30_000 });
  assert.equal(await notes.locator('li[data-kind="break-glass"]').count(), 1);

  // "Who read my data" has the lab's reads, marked as emergency with the reason.
  await alice.getByRole('button', { name: 'Who read my data' }).click();
  const emergencyRows = alice.getByTestId('audit-row').filter({ hasText: 'City Laboratory' }).filter({ has: alice.getByTestId('emergency-mark') });
  await emergencyRows.first().waitFor({ timeout: 30_000 });
  assert.match(await emergencyRows.first().innerText(), new RegExp(`emergency access[\\s\\S]*${REASON}[\\s\\S]*Allowed`));

  // Alice sees the opening, and forbids emergency access.
  await alice.getByRole('button', { name: 'Emergency & recovery' }).click();
  const opening = alice.getByTestId('break-glass-opening').filter({ hasText: 'City Laboratory' });
  await opening.waitFor({ timeout: 30_000 });
  assert.match(await opening.innerText(), /until .*\topen/);
  await alice.getByTestId('emergency-toggle').click();
  await alice.getByRole('dialog').getByRole('button', { name: 'Yes, forbid' }).click();
  await alice.getByTestId('emergency-allowed').filter({ hasText: 'forbidden' }).waitFor({ timeout: 30_000 });

  // St Mary's now tries, and is refused in plain words.
  const hospital = await signIn(browser, system.url, user('st-marys'));
  await chooseAlice(hospital);
  await hospital.getByTestId('emergency-reason').fill(REASON);
  await hospital.getByTestId('emergency-open').click();
  await hospital.getByTestId('emergency-error').waitFor({ timeout: 30_000 });
  assert.match(await hospital.getByTestId('emergency-error').innerText(), /^Alice \(patient\) has forbidden emergency \(break-glass\) access to their record$/);
  assert.equal(await hospital.getByTestId('emergency-data').count(), 0);
});

test('guardians: Alice names two, one approves a new key, Alice cancels it', { skip: noBrowser, timeout: 300_000 }, async () => {
  const alice = await signIn(browser, system.url, user('alice'));
  await alice.getByRole('button', { name: 'Emergency & recovery' }).click();
  await alice.getByTestId('guardian-bob').check();
  await alice.getByTestId('guardian-carol').check();
  await alice.getByTestId('guardian-threshold').fill('2');
  await alice.getByTestId('guardians-save').click();
  await alice.getByTestId('guardians').filter({ hasText: '2 of Bob (patient), Carol (researcher).' }).waitFor({ timeout: 30_000 });

  // Carol (a researcher, also Alice's guardian) approves moving Alice to a new key.
  const newKey = privateKeyToAccount(generatePrivateKey()).address;
  const carol = await signIn(browser, system.url, user('carol'));
  const guarded = carol.getByTestId('guarded-patient').filter({ hasText: 'Alice' });
  await guarded.waitFor({ timeout: 30_000 });
  await guarded.getByTestId('recovery-new-key').fill(newKey);
  await guarded.getByTestId('recovery-approve').click();
  await guarded.getByRole('status').filter({ hasText: 'You approve moving Alice' }).waitFor({ timeout: 30_000 });
  assert.match(await guarded.getByTestId('recovery-candidate').innerText(), new RegExp(`${newKey}: 1 of 2 approve`));

  // Alice is told at once (one guardian alone cannot move her unseen); the tab shows the pending move (1 of 2) without a reload, and she cancels it with her current key.
  await alice.getByTestId('notification-bell').click();
  await alice.getByTestId('notifications').locator('li[data-kind="recovery-approved"]', { hasText: /by Carol/ }).waitFor({ timeout: 30_000 });
  const pending = alice.getByTestId('pending-recovery');
  await pending.filter({ hasText: newKey }).waitFor({ timeout: 30_000 });
  assert.match(await pending.innerText(), /1 of 2 guardians approve/);
  await pending.getByRole('button', { name: 'Cancel recovery' }).click();
  await alice.getByRole('status').filter({ hasText: 'Recovery cancelled' }).waitFor({ timeout: 30_000 });
  await pending.waitFor({ state: 'detached', timeout: 30_000 });

  // Carol sees her approval gone.
  await carol.getByTestId('guardian').getByRole('button', { name: 'Refresh' }).click();
  await guarded.getByTestId('recovery-candidate').waitFor({ state: 'detached', timeout: 30_000 });
});
