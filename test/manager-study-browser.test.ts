/**
 * Research studies in the EHR Manager, clicked through in Chromium on one demo system (issue 16 §2,
 * §7, acceptance): Alice finds the demo study in her inbox in plain words, withdraws and joins again —
 * her own transactions, signed in her browser, that the chain records; Bob declines. Carol, the
 * study's sponsor, sees who joined per site (the gatekeepers' counts, small ones as "<5"), creates a
 * new study that is registered on chain and published, and — once a UCI hospital's patients have
 * joined it — runs it from her browser over the two demo providers and that hospital (a research
 * site in its own process: the three sites a round needs) with a progress bar, then sees per-site
 * results and the model card, their model hash the one recorded on chain.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from '@playwright/test';
import type { Address } from 'viem';
import { createLedgerClient, type LedgerClient } from '../src/chain/client.js';
import type { RunningSystem } from '../src/manager/system.js';
import type { PublishedStudyResults, StudyEntry } from '../src/manager/web/lib/studies.js';
import { consentingRows, HEART_SITE_SEED } from '../src/demo/heart-sites.js';
import { isEnrolled, studyOf } from '../src/sdk/studies.js';
import { noBrowser, SCREENSHOT_DIR, signIn, startBrowserDemo, type DemoUser } from './helpers/browser.js';
import { binary } from './helpers/cli.js';

let system: RunningSystem;
let browser: Browser;
let user: (name: string) => DemoUser;
let reader: LedgerClient;
const ZURICH = 'University Hospitals Zurich and Basel';

before(async () => {
  if (noBrowser) return;
  binary(); // the research site runs as the compiled CLI
  // One UCI hospital beside the two demo providers: the three sites a round needs, at the least start-up cost.
  ({ system, browser, user } = await startBrowserDemo({ researchSites: ['switzerland'], providerProcesses: true }));
  reader = createLedgerClient(system.runtime.deployment);
});
after(async () => {
  await browser?.close();
  await system?.stop();
});

const options = { skip: noBrowser, timeout: 300_000 };

async function studies(): Promise<StudyEntry[]> {
  const res = await fetch(`${system.url}/api/studies`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { studies: StudyEntry[] }).studies;
}

/** The signed-in user's address, as the page shows it (behind "Show my account address"). */
const addressIn = async (page: Page) => (await page.getByTestId('account-address').textContent()) as Address;

// The page reports success only after the transaction's receipt, so the chain is read right after.
const enrolled = (studyId: `0x${string}`, patient: Address) => isEnrolled(reader, studyId, patient);

test('patient: the demo study in the inbox in plain words; withdraw and join again are recorded on chain; Bob declines', options, async () => {
  const [demo] = await studies();
  assert.ok(demo, 'npm start seeds a demo study');
  const alice = await signIn(browser, system.url, user('alice'));
  const me = await addressIn(alice);
  const card = alice.getByTestId('study-invitation').filter({ hasText: demo.definition.title });
  await card.waitFor({ timeout: 60_000 });
  // Seeded: Alice joined at start.
  assert.equal(await card.getByTestId('study-status').innerText(), 'You are taking part');
  assert.match(await card.getByTestId('study-what-leaves').innerText(), /^Only totals over many patients\. Your records never leave your hospitals/);
  const facts = await card.locator('dl').innerText();
  assert.match(facts, /Carol, cardiology research/);
  assert.match(facts, /your cholesterol/);
  assert.doesNotMatch(facts, /0x[0-9a-fA-F]{6}/, 'no hex unless asked');
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await card.screenshot({ path: join(SCREENSHOT_DIR, 'study-invitation.png') });

  await card.getByTestId('study-withdraw').click();
  await alice.getByTestId('study-message').filter({ hasText: 'You have withdrawn' }).waitFor({ timeout: 60_000 });
  assert.equal(await enrolled(demo.studyId, me), false);
  await card.getByTestId('study-join').click();
  await alice.getByTestId('study-message').filter({ hasText: 'You have joined' }).waitFor({ timeout: 60_000 });
  assert.equal(await enrolled(demo.studyId, me), true);
  // The card re-reads the chain after the message: wait for it rather than read it at once.
  await card.getByTestId('study-status').filter({ hasText: /^You are taking part$/ }).waitFor({ timeout: 30_000 });

  const bob = await signIn(browser, system.url, user('bob'));
  const bobCard = bob.getByTestId('study-invitation').filter({ hasText: demo.definition.title });
  await bobCard.waitFor({ timeout: 60_000 });
  assert.equal(await bobCard.getByTestId('study-status').innerText(), 'Waiting for your answer');
  await bobCard.getByTestId('study-decline').click();
  assert.equal(await bobCard.getByTestId('study-status').innerText(), 'You said no');
  // Declining is no transaction; joining stays possible.
  assert.equal(await enrolled(demo.studyId, await addressIn(bob)), false);
  assert.equal(await bobCard.getByTestId('study-join').count(), 1);
  await alice.context().close();
  await bob.context().close();
});

test('researcher: consent counts per site; creates a study, it is registered and published; runs it with a progress bar; per-site results and the model card', options, async () => {
  const carol = await signIn(browser, system.url, user('carol'));
  const research = carol.getByTestId('research');
  const demoRow = research.getByTestId('my-study').filter({ hasText: 'Heart-disease risk across hospitals' });
  await demoRow.waitFor({ timeout: 60_000 });
  await demoRow.getByTestId('open-study').click();
  const panel = research.getByTestId('study-panel');
  const zurichShare = consentingRows(HEART_SITE_SEED, 'switzerland', 0.8).length;
  assert.equal(await panel.getByTestId('chain-enrolled').innerText(), `${zurichShare + 1} patients have joined on chain.`);
  // Alice is linked at both demo providers: each counts her, and says so only as "<5"; the hospital counts its enrolled share.
  await counted(carol);
  assert.deepEqual(await panel.getByTestId('site-count').allInnerTexts(), ["St Mary's Hospital\t<5", 'City Laboratory\t<5', `${ZURICH}\t${zurichShare}`]);

  await research.getByTestId('new-study').click();
  await carol.getByTestId('study-title').fill('Blood pressure and heart disease');
  await carol.getByTestId('study-purpose').fill('To learn how resting blood pressure relates to narrowed heart arteries.');
  await carol.getByTestId('study-rounds').fill('2');
  await carol.getByTestId('study-create').click();
  await research.getByTestId('my-study').filter({ hasText: 'Blood pressure and heart disease' }).waitFor({ timeout: 60_000 });
  const created = (await studies()).find((s) => s.definition.title === 'Blood pressure and heart disease');
  assert.ok(created);
  assert.equal(created.definition.model.rounds, 2);
  const registered = await studyOf(reader, created.studyId);
  assert.equal(registered?.studyHash, created.studyHash);
  assert.equal(registered?.sponsor.toLowerCase(), (await addressIn(carol)).toLowerCase());
  // Opened after creation: nobody has joined yet, and each site says 0.
  const newPanel = research.getByTestId('study-panel');
  await newPanel.getByText('Blood pressure and heart disease').first().waitFor();
  assert.equal(await newPanel.getByTestId('chain-enrolled').innerText(), '0 patients have joined on chain.');
  await counted(carol);
  assert.deepEqual(await newPanel.getByTestId('site-count').allInnerTexts(), ["St Mary's Hospital\t0", 'City Laboratory\t0', `${ZURICH}\t0`]);

  // The hospital's patients sign their enrolment (relayed); the counts follow after a refresh.
  await system.researchSites!.enroll(created.studyId, 0.8);
  await research.getByRole('button', { name: 'Refresh' }).last().click();
  await newPanel.getByTestId('chain-enrolled').filter({ hasText: `${zurichShare} patients` }).waitFor({ timeout: 30_000 });
  await newPanel.getByTestId('site-count').filter({ hasText: new RegExp(`^${ZURICH}\\s*${zurichShare}$`) }).waitFor({ timeout: 30_000 });

  await newPanel.getByTestId('run-study-button').click();
  await newPanel.getByTestId('run-progress').waitFor({ timeout: 60_000 });
  assert.equal(await newPanel.locator('progress').count(), 1);
  await newPanel.getByTestId('study-results').waitFor({ timeout: 240_000 });
  const rows = await newPanel.getByTestId('site-result').allInnerTexts();
  assert.equal(rows.length, 3);
  // Only the hospital has enough held-out patients for an AUC; the demo providers have none who joined.
  assert.match(rows.find((r) => r.startsWith(ZURICH))!, /\t0\.\d{3}\t/);
  assert.match(rows.find((r) => r.startsWith("St Mary's"))!, /\t0\t0\t—\t—$/);
  assert.equal(await newPanel.getByTestId('result-on-chain').innerText(), 'model hash matches the chain');
  await newPanel.getByTestId('model-card').waitFor();

  // What the page published is what the chain recorded: the model hash, both rounds, the whole budget.
  const published = (await (await fetch(`${system.url}/api/studies/${created.studyId}/results`)).json()) as PublishedStudyResults;
  const chain = (await studyOf(reader, created.studyId))!;
  assert.equal(chain.result?.modelHash, published.run.modelHash);
  assert.equal(chain.result?.modelHash, published.card.modelHash);
  assert.equal(chain.rounds, 2);
  assert.equal(chain.epsilonSpent, chain.epsilonBudget);
  await carol.screenshot({ path: join(SCREENSHOT_DIR, 'researcher-view.png'), fullPage: true });
  await carol.context().close();
});

/** Waits until every site has answered the consent count. */
const counted = (page: Page) => page.waitForFunction(() => !document.body.innerText.includes('Asking each hospital'));
