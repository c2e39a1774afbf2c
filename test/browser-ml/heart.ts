/**
 * The heart-disease risk panel in Chromium (issue 15 §2, §3, acceptance): St Mary's sees Alice's risk
 * with its contributions, similar cases and suggestions; Alice sees her own in plain words, computed
 * in her browser with nothing sent anywhere but gatekeeper reads; and Carol, granted only Alice's vital
 * signs, sees the inputs her grant does not cover as missing, then, after Alice revokes, no data.
 * Beside the heart panel St Mary's also sees the breast-cytology panel for Alice's cytology report,
 * and "Models" lists every served model's card.
 *
 * What the page shows is checked against the model run here in Node on the very records the
 * gatekeeper returns for that read (the provider's store, or the grant's result set), so the numbers
 * are not hard-coded and a panel that read anything else would fail.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page, Request } from '@playwright/test';
import type { Resource } from '@medplum/fhirtypes';
import { assessBreastCytology } from '../../src/ml/breast/assess.js';
import type { BreastCytologyModelDocument } from '../../src/ml/breast/types.js';
import type { ModelCard } from '../../src/ml/card.js';
import { assessHeartRisk } from '../../src/ml/heart/assess.js';
import type { HeartAssessment, HeartRiskModelDocument } from '../../src/ml/heart/types.js';
import { ADDRESS_SYSTEM } from '../../src/protocol/identifiers.js';
import { inWords, percent } from '../../src/ml/plain-language.js';
import type { DemoProvider } from '../../src/demo/generate.js';
import { SCREENSHOT_DIR, signIn, type DemoUser } from '../helpers/browser.js';
import type { MlBrowserContext } from './context.js';

const ST_MARYS = "St Mary's Hospital";
/** What Alice shares with Carol: blood pressure is in it, cholesterol (a lab result) is not. */
const VITALS = 'Observation?category=vital-signs';

async function served<T>(ctx: MlBrowserContext, path: string): Promise<T> {
  const res = await fetch(`${ctx.system.url}${path}`);
  assert.equal(res.status, 200, `GET ${path}`);
  return (await res.json()) as T;
}

const heartModel = (ctx: MlBrowserContext) => served<HeartRiskModelDocument>(ctx, '/api/ml/models/heart-risk');

/** A demo user's address, from their keystore file (v3 keystores carry it). */
const addressOf = (u: DemoUser): string => `0x${(JSON.parse(readFileSync(u.keystoreFile, 'utf8')) as { address: string }).address.replace(/^0x/, '').toLowerCase()}`;

/** The patient's local id at a provider (linked to their chain address at start). */
async function localId(ctx: MlBrowserContext, provider: DemoProvider, patient: DemoUser): Promise<string> {
  const p = await ctx.system.gatekeepers.get(provider)!.store.findPatientByIdentifier(ADDRESS_SYSTEM, addressOf(patient));
  assert.ok(p?.id, `${patient.name} is linked at ${provider}`);
  return p.id;
}

/** The features the page lists as read from a record, and those it does not. */
async function shownInputs(page: Page): Promise<{ observed: string[]; other: string[] }> {
  const rows = page.getByTestId('heart-risk').getByTestId('heart-input');
  const observed: string[] = [];
  const other: string[] = [];
  for (const row of await rows.all()) {
    const feature = (await row.getAttribute('data-feature'))!;
    ((await row.getAttribute('data-status')) === 'observed' ? observed : other).push(feature);
  }
  return { observed: observed.sort(), other: other.sort() };
}

const observedIn = (a: HeartAssessment) => a.inputs.filter((i) => i.status === 'observed').map((i) => i.feature).sort();

/**
 * Beside the heart panel, the breast-cytology panel for Alice (the demo files a cytology report for her
 * at St Mary's): the model run here on the same records gives the probability, interval and bars shown.
 */
async function clinicianSeesCytology(ctx: MlBrowserContext, page: Page, records: Resource[]): Promise<void> {
  const doc = await served<BreastCytologyModelDocument>(ctx, '/api/ml/models/breast-cytology');
  const expected = assessBreastCytology(doc, records);
  assert.ok(expected.enoughData, "the demo's cytology report carries the model's features");
  const panel = page.getByTestId('breast-cytology');
  await panel.getByTestId('breast-probability').waitFor({ timeout: 60_000 });
  assert.equal(await panel.getByTestId('breast-probability').innerText(), percent(expected.probability));
  assert.match(await panel.getByTestId('breast-interval').innerText(), new RegExp(`${percent(expected.interval.low)}–${percent(expected.interval.high)}`));
  assert.match(await panel.getByTestId('breast-operating-point').innerText(), new RegExp(`threshold ${percent(expected.operatingPoint.threshold)}, sensitivity \\d+ %, specificity \\d+ %`));
  assert.equal(await panel.getByTestId('contribution-bar').count(), expected.inputs.length + 1, 'one bar per feature plus the baseline');
  assert.deepEqual((await panel.locator('[data-testid="heart-input"][data-status="observed"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-feature')))).sort(), observedIn(expected));
  assert.match(await panel.locator('[data-testid="heart-input"][data-status="observed"]').first().innerText(), /Observation\/\S+ · local code/);
  await panel.getByTestId('breast-card-toggle').click();
  assert.equal(await panel.getByTestId('model-card').getByTestId('card-intended-use').innerText(), doc.card.intendedUse);
}

/** "Models" lists every served model's card (GET /api/ml/models), and each opens as a model card. */
async function modelsListShowsEveryCard(ctx: MlBrowserContext, page: Page): Promise<void> {
  const cards = await served<ModelCard[]>(ctx, '/api/ml/models');
  assert.ok(cards.some((c) => c.id === 'breast-cytology') && cards.some((c) => c.id === 'heart-risk'), cards.map((c) => c.id).join(', '));
  const models = page.getByTestId('models');
  await models.getByTestId('models-toggle').click();
  await models.getByTestId('models-list').waitFor({ timeout: 30_000 });
  assert.deepEqual(await models.getByTestId('model-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-model'))), cards.map((c) => c.id));
  for (const card of cards) {
    await models.locator(`[data-testid="model-row"][data-model="${card.id}"]`).getByRole('button', { name: 'Model card' }).click();
    assert.equal(await models.getByTestId('model-card').getByTestId('card-intended-use').innerText(), card.intendedUse, card.id);
  }
}

export async function clinicianSeesHeartRisk(ctx: MlBrowserContext): Promise<void> {
  const doc = await heartModel(ctx);
  const alice = ctx.user('alice');
  const records = await ctx.system.gatekeepers.get('st-marys')!.store.everything(await localId(ctx, 'st-marys', alice));
  const expected = assessHeartRisk(doc, records);
  assert.ok(expected.enoughData, "the demo writes the heart model's inputs for Alice at St Mary's");

  const page = await signIn(ctx.browser, ctx.system.url, ctx.user('st-marys'));
  await page.getByTestId('provider-patients').getByRole('button', { name: /Alice/ }).click();
  const panel = page.getByTestId('heart-risk');
  await panel.getByTestId('heart-probability').waitFor({ timeout: 60_000 });

  // The probability and interval the model gives on the records St Mary's own gatekeeper returns.
  assert.equal(await panel.getByTestId('heart-probability').innerText(), percent(expected.probability));
  assert.match(await panel.getByTestId('heart-interval').innerText(), new RegExp(`${percent(expected.interval.low)}–${percent(expected.interval.high)}`));
  assert.match(await panel.getByTestId('heart-operating-point').innerText(), /threshold \d+ %, sensitivity \d+ %, specificity \d+ %/);
  // One bar per input plus the baseline; contributions + intercept = the logit shown.
  const bars = panel.getByTestId('contribution-bar');
  assert.ok((await bars.count()) >= 5, `${await bars.count()} contribution bars`);
  assert.equal(await bars.count(), expected.inputs.length + 1);
  const sum = expected.intercept + expected.inputs.reduce((s, i) => s + i.contribution, 0);
  assert.ok(Math.abs(sum - expected.logit) < 1e-9, 'contributions + intercept = logit');
  assert.match(await panel.getByTestId('heart-logit').innerText(), new RegExp(expected.logit >= 0 ? `\\+${expected.logit.toFixed(2)}` : `${Math.abs(expected.logit).toFixed(2)}`));
  // Each observed input names its source record and code.
  assert.deepEqual((await shownInputs(page)).observed, observedIn(expected));
  const observedRow = panel.locator('[data-testid="heart-input"][data-status="observed"]').first();
  assert.match(await observedRow.innerText(), /(Observation|Patient|Condition)(\/\S+)?/);
  // Similar cases with their outcomes and reasons; suggestions citing their rules.
  const cases = panel.getByTestId('similar-case');
  assert.ok((await cases.count()) >= 1, 'similar cases are listed');
  assert.match(await cases.first().innerText(), /coronary disease/);
  // Alice is a woman: her similar cases are matched on sex first (src/ml/heart/assess.ts), and say so.
  for (const text of await cases.allInnerTexts()) assert.match(text, /\bfemale\b[\s\S]*same sex: female/);
  const suggestions = panel.getByTestId('heart-suggestion');
  assert.ok((await suggestions.count()) >= 1, 'at least one lifestyle suggestion');
  assert.match(await suggestions.first().innerText(), /Rule \S+: .+/);

  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await panel.screenshot({ path: join(SCREENSHOT_DIR, 'clinician-risk.png') });

  // The model card, as the manager serves it.
  await panel.getByTestId('heart-card-toggle').click();
  const card = panel.getByTestId('model-card');
  await card.waitFor();
  assert.equal(await card.getByTestId('card-intended-use').innerText(), doc.card.intendedUse);
  assert.equal(await card.getByTestId('card-metrics').locator('tbody tr').count(), Object.keys(doc.card.metrics).length);
  assert.equal(await card.getByTestId('card-subgroups').locator('tbody tr').count(), doc.card.subgroups.length);

  await clinicianSeesCytology(ctx, page, records);
  await modelsListShowsEveryCard(ctx, page);
  await page.context().close();
}

/** Everything the page sends, to check where Alice's data goes. */
function recordRequests(page: Page): Request[] {
  const requests: Request[] = [];
  page.on('request', (r) => requests.push(r));
  return requests;
}

/** JSON-RPC methods in a request body (one call or a batch). */
function rpcMethods(body: string | null): string[] {
  const parsed = JSON.parse(body ?? '[]') as { method: string } | { method: string }[];
  return (Array.isArray(parsed) ? parsed : [parsed]).map((c) => c.method);
}

const CHAIN_READS = new Set(['eth_chainId', 'eth_blockNumber', 'eth_call', 'eth_getLogs', 'eth_getBlockByNumber', 'eth_getBlockByHash', 'eth_getTransactionReceipt', 'eth_getCode', 'net_version']);

export async function patientSeesOwnRisk(ctx: MlBrowserContext): Promise<void> {
  // Her records as her providers' gatekeepers return them to her: each store's $everything for her.
  const own: Resource[] = [];
  for (const provider of ['st-marys', 'city-lab'] as const) own.push(...(await ctx.system.gatekeepers.get(provider)!.store.everything(await localId(ctx, provider, ctx.user('alice')))));
  const expected = assessHeartRisk(await heartModel(ctx), own);
  const page = await signIn(ctx.browser, ctx.system.url, ctx.user('alice'));
  const requests = recordRequests(page);
  await page.getByRole('button', { name: 'My heart health' }).click();
  const panel = page.getByTestId('heart-risk');
  await panel.getByTestId('heart-plain-language').waitFor({ timeout: 60_000 });

  assert.equal(await panel.getByTestId('heart-plain-language').innerText(), expected.plainLanguage);
  assert.match(expected.plainLanguage, /\d+ in \d+/);
  const interval = await panel.getByTestId('heart-interval-words').innerText();
  assert.ok(interval.includes(`most likely between ${inWords(expected.interval.low)} and ${inWords(expected.interval.high)} (${percent(expected.interval.low)} to ${percent(expected.interval.high)})`), interval);
  assert.match(await page.getByTestId('heart-stays-here').innerText(), /Nothing computed here is sent/);
  // The same explanation a clinician sees: contributions and the inputs with their status.
  assert.ok((await panel.getByTestId('contribution-bar').count()) >= 5);
  assert.ok((await panel.getByTestId('heart-input').count()) >= 5);
  await panel.getByTestId('heart-card-toggle').click();
  await panel.getByTestId('model-card').waitFor();

  // Where the page's requests went: her records came from the gatekeepers (GET, signed); the manager
  // got only GETs (the app, the model) and chain reads; nothing else was contacted, nothing was posted.
  const manager = new URL(ctx.system.url).origin;
  const gatekeepers = new Set([...ctx.system.gatekeepers.values()].map((g) => new URL(g.url).origin));
  const shown = [await panel.getByTestId('heart-plain-language').innerText(), await panel.getByTestId('heart-interval-words').innerText()];
  for (const r of requests) {
    const url = new URL(r.url());
    const where = `${r.method()} ${url.href}`;
    assert.ok(url.origin === manager || gatekeepers.has(url.origin), `request to ${where}`);
    // OPTIONS: the browser's CORS preflight of a signed cross-origin GET.
    if (gatekeepers.has(url.origin)) assert.ok(r.method() === 'GET' || r.method() === 'OPTIONS', where);
    if (url.origin === manager && r.method() !== 'GET') {
      assert.equal(url.pathname, '/rpc', where);
      for (const m of rpcMethods(r.postData())) assert.ok(CHAIN_READS.has(m), `${m} sent to the chain`);
    }
    for (const text of shown) assert.ok(!(r.postData() ?? '').includes(text), `the result went out in ${where}`);
  }
  assert.ok(requests.some((r) => gatekeepers.has(new URL(r.url()).origin) && r.url().includes('/$everything')), 'her records were read through a gatekeeper');
  assert.ok(requests.some((r) => r.url() === `${manager}/api/ml/models/heart-risk`), 'the model was fetched from the manager');
  await page.context().close();
}

async function share(alice: Page, scopeLabel: string): Promise<void> {
  await alice.getByRole('button', { name: 'Sharing' }).click();
  await alice.getByTestId('share-provider').selectOption({ label: ST_MARYS });
  await alice.getByTestId('share-scope').selectOption({ label: scopeLabel });
  await alice.getByTestId('share-viewer').selectOption({ label: 'Carol (researcher)' });
  await alice.getByTestId('share-expiry').selectOption({ label: '1 day' });
  await alice.getByRole('button', { name: 'Share' }).click();
  await alice.getByRole('status').filter({ hasText: new RegExp(`Shared ${scopeLabel}`) }).waitFor({ timeout: 30_000 });
}

export async function consentLimitsTheRiskPanel(ctx: MlBrowserContext): Promise<void> {
  const doc = await heartModel(ctx);
  const aliceUser = ctx.user('alice');
  const granted: Resource[] = await ctx.system.gatekeepers.get('st-marys')!.store.resultSet(VITALS, await localId(ctx, 'st-marys', aliceUser));
  const expected = assessHeartRisk(doc, granted);
  const alice = await signIn(ctx.browser, ctx.system.url, aliceUser);
  const carol = await signIn(ctx.browser, ctx.system.url, ctx.user('carol'));
  await share(alice, 'Vital signs');

  const grantRow = carol.getByTestId('received-grant').filter({ hasText: 'Vital signs' });
  await grantRow.waitFor({ timeout: 30_000 });
  await grantRow.getByRole('button', { name: 'Read' }).click();
  const panel = carol.getByTestId('heart-risk');
  await panel.getByTestId('heart-input').first().waitFor({ timeout: 60_000 });

  // The panel used exactly what the grant returned: blood pressure read, cholesterol (a lab) missing, with why.
  const shown = await shownInputs(carol);
  assert.deepEqual(shown.observed, observedIn(expected));
  assert.ok(shown.observed.includes('trestbps'), `blood pressure is read from the vital signs (${shown.observed.join(', ')})`);
  assert.ok(shown.other.includes('chol'), 'cholesterol is not covered by the grant');
  const chol = panel.locator('[data-testid="heart-input"][data-feature="chol"]');
  assert.ok((await chol.getByTestId('heart-input-note').innerText()).length > 0, 'a missing input says why');
  assert.equal(await carol.getByTestId('granted-data').getByTestId('lab-table').count(), 0, 'no lab result was returned');

  // Alice revokes: Carol's next read is refused, and the panel shows no data.
  await alice.getByTestId('grants').locator('tr', { hasText: 'Carol' }).getByRole('button', { name: 'Revoke' }).click();
  await alice.getByRole('dialog').getByRole('button', { name: 'Yes, revoke' }).click();
  await alice.getByRole('status').filter({ hasText: /Revoked/ }).waitFor({ timeout: 30_000 });
  await carol.getByTestId('received-grant').filter({ hasText: 'revoked by the patient' }).waitFor({ timeout: 30_000 });
  await carol.getByTestId('received-grant').filter({ hasText: 'Vital signs' }).getByRole('button', { name: 'Read' }).click();
  await panel.getByTestId('heart-risk-refused').waitFor({ timeout: 30_000 });
  assert.match(await panel.getByTestId('heart-risk-refused').innerText(), /403/);
  assert.equal(await panel.getByTestId('heart-input').count(), 0);
  assert.equal(await panel.getByTestId('heart-probability').count(), 0);
  await alice.context().close();
  await carol.context().close();
}
