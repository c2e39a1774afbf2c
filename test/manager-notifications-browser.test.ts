/**
 * Issue 18, "notifications that matter", in Chromium: the header says who is signed in in words (the
 * address only on request); the notification centre shows the unread count on its button, opens with
 * the keyboard, puts "Carol read your lab results" first, marked important and timed, while routine
 * audit anchoring stays hidden until the preference is on; read marks and the history survive a
 * reload and a new sign-in; filters work; and the manager serves the history only to the holder of
 * the address's key. Axe finds no serious or critical problem with the panel open, and at 390 px
 * the page does not scroll sideways.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { Browser, Page } from '@playwright/test';
import type { LocalAccount } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { createLedgerClient } from '../src/chain/client.js';
import { decryptKeystore } from '../src/keys/keystore.js';
import type { RunningSystem } from '../src/manager/system.js';
import { notificationProofMessage, type Notification } from '../src/protocol/notifications.js';
import { gatekeeperClient } from '../src/sdk/gatekeeper.js';
import { grantViewer } from '../src/sdk/grants.js';
import { readSummary } from '../src/sdk/summary.js';
import { describeViolations, seriousViolations } from './helpers/axe.js';
import { providerAddsLabResult } from './helpers/provider-writes.js';
import { noBrowser, signIn, startBrowserDemo, type DemoUser } from './helpers/browser.js';

let system: RunningSystem;
let browser: Browser;
let user: (name: string) => DemoUser;
const LONG = { timeout: 60_000 };

/** A demo user's own key, unlocked with their password as the CLI would. */
const accountOf = (name: string): LocalAccount => privateKeyToAccount(decryptKeystore(JSON.parse(readFileSync(user(name).keystoreFile, 'utf8')), user(name).password));

before(async () => {
  if (noBrowser) return;
  ({ system, browser, user } = await startBrowserDemo());
  // Alice shares her St Mary's lab results with Carol (through the SDK; other tests click it).
  const alice = createLedgerClient(system.runtime.deployment, { account: accountOf('alice'), pollingIntervalMs: 20 });
  const stMarys = system.providers.find((p) => p.name === 'st-marys')!;
  const rel = (await readSummary(alice, alice.account!.address)).relationships.find((r) => r.provider.toLowerCase() === stMarys.provider.toLowerCase())!;
  await grantViewer(alice, { relationshipId: BigInt(rel.id), viewer: accountOf('carol').address, scope: 'Observation?category=laboratory', expiresAt: Math.floor(Date.now() / 1000) + 86_400 });
});

after(async () => {
  await browser?.close();
  await system?.stop();
});

/** Carol reads the lab results Alice shared, with her own signed client. */
async function carolReadsAlicesLabs(): Promise<void> {
  const gk = system.gatekeepers.get('st-marys')!;
  const res = await gatekeeperClient({ url: gk.url, gatekeeper: gk.ledger.account!.address, chainId: gk.ledger.chainId, account: accountOf('carol') }).get('/fhir/R4/Observation?category=laboratory&_count=5');
  assert.equal(res.status, 200);
}

const unreadOf = async (page: Page) => Number(await page.getByTestId('notification-bell').getAttribute('data-unread'));
const bellSays = (page: Page, unread: number) => page.getByRole('button', { name: `Notifications, ${unread} unread`, exact: true }).waitFor(LONG);

/** The elements reaching past the right edge of a 390 px page (for the assertion's message). */
const tooWide = (page: Page) =>
  page.evaluate(() =>
    [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > 390)
      .slice(0, 8)
      .map((e) => `${e.tagName.toLowerCase()}.${e.className} (${Math.round(e.getBoundingClientRect().right)} px)`)
      .join(', '),
  );

/** Reload: the key is gone from memory, so Alice signs in again in the same browser. */
async function reloadAndSignIn(page: Page, u: DemoUser): Promise<void> {
  await page.reload();
  await page.getByTestId('signin-user').selectOption({ label: `${u.label ?? u.name} — ${u.role}` });
  await page.getByTestId('signin-password').fill(u.password);
  await page.getByTestId('signin-submit').click();
  await page.getByTestId('signed-in-as').waitFor(LONG);
}

test('the header and the notification centre: important first, routine hidden, read marks and history after a reload, filters', { skip: noBrowser, timeout: 400_000 }, async () => {
  const alice = await signIn(browser, system.url, user('alice'));
  // The header: a name and role in words; the address only behind its toggle.
  assert.match(await alice.locator('header').innerText(), /Signed in as Alice \(patient\)/);
  assert.equal(await alice.getByTestId('account-address').isVisible(), false);
  await alice.getByText('Show my account address').click();
  assert.equal((await alice.getByTestId('account-address').innerText()).toLowerCase(), accountOf('alice').address.toLowerCase());

  // Enter on the button opens the panel and moves the focus into it; the seed's records are there (history).
  await alice.getByTestId('notification-bell').focus();
  await alice.keyboard.press('Enter');
  const panel = alice.getByTestId('notification-panel');
  await panel.getByTestId('notification').first().waitFor(LONG);
  assert.equal(await alice.evaluate(() => document.activeElement?.id), 'notification-panel-title');
  assert.equal(await alice.getByTestId('notification-bell').getAttribute('aria-expanded'), 'true');
  await panel.getByTestId('notification-mark-all').click();
  await bellSays(alice, 0);

  // St Mary's adds a result and Carol reads the shared labs: the count goes up, her read comes first.
  await providerAddsLabResult(system, 'st-marys', user('alice').keystoreFile);
  await carolReadsAlicesLabs();
  const read = panel.getByTestId('notification').filter({ hasText: /Carol \(researcher\) read your lab results at St Mary's Hospital/ });
  await read.waitFor(LONG);
  await panel.getByTestId('notification').filter({ hasText: /Updated record from St Mary's Hospital/ }).first().waitFor(LONG);
  const unread = await unreadOf(alice);
  assert.ok(unread >= 2, `${unread} unread`);
  const first = panel.getByTestId('notification').first();
  assert.equal(await first.getAttribute('data-kind'), 'grant-used');
  assert.match(await first.innerText(), /^Important/);
  const at = Date.parse((await first.locator('time').getAttribute('datetime'))!);
  assert.ok(Math.abs(Date.now() - at) < 10 * 60_000, `timed when it happened: ${new Date(at).toISOString()}`);
  assert.doesNotMatch((await panel.locator('.note-text').allInnerTexts()).join('\n'), /0x[0-9a-f]{6}|block \d|\/fhir\//, 'words for people, details only behind a toggle');
  // Important and unread: also in the banner at the top, until read.
  await alice.getByTestId('notification-banner').filter({ hasText: 'Carol (researcher) read your lab results' }).waitFor(LONG);

  // Routine audit anchoring: hidden (one line says so) until the preference is on.
  await system.gatekeepers.get('st-marys')!.anchor();
  await panel.getByTestId('notification-routine-hidden').waitFor(LONG);
  assert.equal(await panel.locator('li[data-kind="audit-anchored"]').count(), 0);
  await panel.locator('summary', { hasText: 'Preferences' }).click();
  await panel.getByTestId('notification-pref-routine').check();
  await panel.locator('li[data-kind="audit-anchored"]').first().waitFor(LONG);
  await panel.getByTestId('notification-pref-routine').uncheck();
  await panel.locator('li[data-kind="audit-anchored"]').first().waitFor({ state: 'detached', ...LONG });

  // Axe with the panel open, at a desktop's width and a phone's (no sideways scrolling).
  assert.deepEqual(await seriousViolations(alice), [], describeViolations(await seriousViolations(alice)));
  await alice.setViewportSize({ width: 390, height: 844 });
  assert.ok((await alice.evaluate(() => document.documentElement.scrollWidth)) <= 390, `no sideways scrolling at 390 px; too wide: ${await tooWide(alice)}`);
  assert.deepEqual(await seriousViolations(alice), [], describeViolations(await seriousViolations(alice)));
  await alice.setViewportSize({ width: 1200, height: 900 });

  // Mark as read: the count goes down, and the read leaves the banner.
  const unreadCount = await unreadOf(alice);
  await read.getByTestId('notification-mark-read').click();
  await bellSays(alice, unreadCount - 1);
  await alice.getByTestId('notification-banner').filter({ hasText: 'Carol (researcher) read your lab results' }).waitFor({ state: 'detached', ...LONG });

  // Escape closes the panel and gives the focus back to its button.
  await panel.getByTestId('notification-filter').focus();
  await alice.keyboard.press('Escape');
  await panel.waitFor({ state: 'detached' });
  assert.equal(await alice.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'notification-bell');

  // After a reload and a new sign-in: the same unread count, the earlier ones, Carol's read marked read.
  await reloadAndSignIn(alice, user('alice'));
  await bellSays(alice, unreadCount - 1);
  await alice.getByTestId('notification-bell').click();
  await read.waitFor(LONG);
  assert.equal(await read.getAttribute('data-unread'), 'false');
  await panel.getByTestId('notification').filter({ hasText: /Updated record from St Mary's Hospital/ }).first().waitFor(LONG);

  // Filters: records, unread only — then access to my data, unread only (Carol's read is read: nothing).
  await panel.getByTestId('notification-filter').selectOption('records');
  await panel.getByTestId('notification-unread-only').check();
  const kinds = await panel.getByTestId('notification').evaluateAll((items) => items.map((i) => `${i.getAttribute('data-kind')} ${i.getAttribute('data-unread')}`));
  assert.ok(kinds.length > 0 && kinds.every((k) => /^(new-record|updated-record|awaiting-approval|status-changed) true$/.test(k)), kinds.join());
  await panel.getByTestId('notification-filter').selectOption('access');
  await panel.getByText('Nothing matches this filter.').waitFor();
  await panel.getByTestId('notification-unread-only').uncheck();
  assert.equal(await panel.getByTestId('notification').filter({ hasText: 'Carol (researcher) read your lab results' }).count(), 1);
});

test('the manager serves the history only with a fresh proof signed by the address\'s own key', { skip: noBrowser, timeout: 60_000 }, async () => {
  const alice = accountOf('alice');
  const proof = async (signer: LocalAccount) => {
    const time = Math.floor(Date.now() / 1000);
    return `${time}:${await signer.signMessage({ message: notificationProofMessage(alice.address, time) })}`;
  };
  const history = (headers: Record<string, string> = {}) => fetch(`${system.url}/api/notifications/${alice.address}/history`, { headers });
  assert.equal((await history()).status, 401, 'no proof');
  assert.equal((await history({ 'x-notification-proof': 'yesterday:0xabc' })).status, 401, 'not a proof');
  assert.equal((await history({ 'x-notification-proof': await proof(accountOf('carol')) })).status, 403, 'signed by another key');
  assert.equal((await fetch(`${system.url}/api/notifications/${alice.address}`)).status, 401, 'nor the live stream without one');
  const ok = await history({ 'x-notification-proof': await proof(alice) });
  assert.equal(ok.status, 200);
  const { notifications } = (await ok.json()) as { notifications: Notification[] };
  assert.ok(notifications.some((n) => n.kind === 'grant-used' && n.at && n.id?.startsWith('off:')), 'Carol\'s read, kept with its time');
});
