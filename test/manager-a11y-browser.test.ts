/**
 * Issue 18, "accessible to everyone": every role's views in Chromium, checked with axe-core for
 * serious and critical WCAG 2.1 A/AA violations (test/helpers/axe.ts) at a desktop width (1200 px)
 * and at a phone's (390 × 844, where the page must not scroll sideways); the sign-in form completed
 * with the keyboard alone. Also takes the README's screenshots of each role's main view.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from '@playwright/test';
import { privateKeyToAccount } from 'viem/accounts';
import { createLedgerClient } from '../src/chain/client.js';
import { decryptKeystore } from '../src/keys/keystore.js';
import type { RunningSystem } from '../src/manager/system.js';
import { grantViewer } from '../src/sdk/grants.js';
import { setGuardians } from '../src/sdk/recovery.js';
import { relationshipIdsOf } from '../src/sdk/summary.js';
import { describeViolations, seriousViolations } from './helpers/axe.js';
import { noBrowser, SCREENSHOT_DIR, signIn, startBrowserDemo, type DemoUser } from './helpers/browser.js';

let system: RunningSystem;
let browser: Browser;
let user: (name: string) => DemoUser;

const DESKTOP = { width: 1200, height: 900 };
const PHONE = { width: 390, height: 844 };

/** A demo user's own key, unlocked as the CLI would with their password. */
function ledgerOf(name: string) {
  const keystore = JSON.parse(readFileSync(user(name).keystoreFile, 'utf8'));
  return createLedgerClient(system.runtime.deployment, { account: privateKeyToAccount(decryptKeystore(keystore, user(name).password)), pollingIntervalMs: 20 });
}

before(async () => {
  if (noBrowser) return;
  ({ system, browser, user } = await startBrowserDemo({ providerProcesses: false }));
  // Bob guards Alice (so his view shows the guardian section), and Alice shares her St Mary's labs
  // with Carol (so the third-party view has a grant to read): set up through the SDK, as the
  // other browser tests click them through the patient's own tabs.
  const alice = ledgerOf('alice');
  const bob = ledgerOf('bob');
  await setGuardians(alice, { patient: alice.account!.address, guardians: [bob.account!.address], threshold: 1 });
  const [relationshipId] = await relationshipIdsOf(alice, alice.account!.address);
  await grantViewer(alice, { relationshipId: relationshipId!, viewer: ledgerOf('carol').account!.address, scope: 'Observation?category=laboratory', expiresAt: Math.floor(Date.now() / 1000) + 86_400 });
});

after(async () => {
  await browser?.close();
  await system?.stop();
});

/**
 * The problems of the page as it is now, at both widths: axe's serious and critical violations, and
 * at 390 px a page wider than the screen. Each line names `view`, so one run lists every failure.
 */
async function problemsOf(page: Page, view: string): Promise<string[]> {
  const problems: string[] = [];
  for (const size of [DESKTOP, PHONE]) {
    await page.setViewportSize(size);
    const violations = await seriousViolations(page);
    if (violations.length) problems.push(`${view} at ${size.width} px:\n${describeViolations(violations)}`);
    if (size === PHONE) {
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      if (width > PHONE.width) problems.push(`${view} at 390 px: the page is ${width} px wide (scrolls sideways), past the edge: ${(await widest(page)).join(', ')}`);
    }
  }
  await page.setViewportSize(DESKTOP);
  return problems;
}

/**
 * The elements that reach furthest past the phone's screen (not inside a scrolling box): where a
 * too-wide page comes from. A string, as tsx would wrap named functions in a helper the page lacks.
 */
const WIDEST = `(() => {
  const over = (el) => el.getBoundingClientRect().right > ${PHONE.width};
  const clipped = (el) => !!el.parentElement && (getComputedStyle(el.parentElement).overflowX !== 'visible' || clipped(el.parentElement));
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.dataset.testid ? '[data-testid=' + el.dataset.testid + ']' : '') + (typeof el.className === 'string' && el.className ? '.' + el.className.split(' ')[0] : '') + ' (' + Math.round(el.getBoundingClientRect().width) + ' px)';
  const right = (el) => el.getBoundingClientRect().right;
  return [...document.querySelectorAll('body *')].filter((el) => over(el) && !clipped(el)).sort((a, b) => right(b) - right(a)).slice(0, 4).map(describe);
})()`;
const widest = (page: Page) => page.evaluate<string[]>(WIDEST);

async function screenshot(page: Page, name: string, size = DESKTOP): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.setViewportSize(size);
  await page.screenshot({ path: join(SCREENSHOT_DIR, name) });
  await page.setViewportSize(DESKTOP);
}

const tab = (page: Page, name: string) => page.getByRole('navigation', { name: 'Your records' }).getByRole('button', { name });

test('the sign-in form works with the keyboard alone, with a visible focus', { skip: noBrowser, timeout: 180_000 }, async () => {
  const page = await (await browser.newContext({ viewport: DESKTOP })).newPage();
  await page.goto(system.url);
  await page.getByTestId('signin-user').waitFor();
  assert.deepEqual(await problemsOf(page, 'sign-in'), []);

  // The first Tab stop skips the header (WCAG 2.4.1); Tab on to the name list, every stop showing where the focus is.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to main content');
  for (let stops = 0; !(await page.getByTestId('signin-user').evaluate((el) => el === document.activeElement)); stops++) {
    assert.ok(stops < 10, 'Tab reaches the name list');
    await page.keyboard.press('Tab');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    assert.notEqual(outline, 'none', 'the focused element has a visible outline');
  }
  // Typing a name picks it (the list's own type-ahead), Tab moves to the password, Enter submits.
  await page.keyboard.type('Carol');
  assert.equal(await page.getByTestId('signin-user').evaluate((el: HTMLSelectElement) => el.selectedOptions[0]!.text), 'Carol (researcher) — third-party');
  await page.keyboard.press('Tab');
  assert.equal(await page.getByTestId('signin-password').evaluate((el) => el === document.activeElement), true, 'Tab moves on to the password');
  await page.keyboard.type(user('carol').password);
  await page.keyboard.press('Enter');
  await page.getByTestId('signed-in-as').filter({ hasText: 'Carol' }).waitFor({ timeout: 60_000 });
});

test("every view of every role, at 1200 and 390 px: no serious or critical axe violation, no sideways scroll on a phone; the README's screenshots of each role's main view", { skip: noBrowser, timeout: 300_000 }, async () => {
  const problems: string[] = [];
  const alice = await signIn(browser, system.url, user('alice'));
  await alice.getByTestId('inbox').waitFor({ timeout: 30_000 });
  for (const name of ['Inbox', 'Records', 'My heart health', 'Sharing', 'Who read my data', 'Emergency & recovery', 'Backup']) {
    await tab(alice, name).click();
    problems.push(...(await problemsOf(alice, `patient: ${name}`)));
    if (name === 'Inbox') await screenshot(alice, 'phone-patient-view.png', PHONE);
  }
  const hospital = await signIn(browser, system.url, user('st-marys'));
  problems.push(...(await problemsOf(hospital, 'provider: no patient chosen')));
  await hospital.getByTestId('provider-patients').getByRole('button', { name: /Alice/ }).click();
  await hospital.getByTestId('record-form').waitFor({ timeout: 30_000 });
  problems.push(...(await problemsOf(hospital, 'provider: Alice chosen')));
  await screenshot(hospital, 'provider-view.png');
  const carol = await signIn(browser, system.url, user('carol'));
  await carol.getByTestId('received-grant').first().getByRole('button', { name: 'Read' }).click();
  await carol.getByTestId('granted-data').waitFor({ timeout: 30_000 });
  await carol.getByTestId('research').waitFor();
  problems.push(...(await problemsOf(carol, 'third party and research')));
  await screenshot(carol, 'third-party-view.png');
  await carol.getByTestId('new-study').click();
  problems.push(...(await problemsOf(carol, 'research: the new-study form')));
  const dana = await signIn(browser, system.url, user('dana'));
  await dana.getByTestId('outbreak-condition').waitFor({ timeout: 60_000 });
  problems.push(...(await problemsOf(dana, 'public health')));
  const bob = await signIn(browser, system.url, user('bob'));
  await bob.getByTestId('guarded-patient').filter({ hasText: 'Alice' }).waitFor({ timeout: 30_000 });
  problems.push(...(await problemsOf(bob, 'guardian')));
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await bob.getByTestId('guardian').screenshot({ path: join(SCREENSHOT_DIR, 'guardian-view.png') });
  assert.deepEqual(problems, [], problems.join('\n\n'));
});
