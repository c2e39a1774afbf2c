/**
 * Issue 18, the patient's records view in Chromium: the chart's sections from the demo records, tests
 * by the names people use (the clinical LOINC name only on hover and in a details toggle), the trend
 * chart's axes and normal-range legend, "Download my records" as a FHIR Bundle, a record changed
 * behind the ledger named in words and re-checked, a provider's write still on its way to the chain
 * shown as "Publishing" and then the tick (issue 19), a declined provider's records still shown to the
 * patient, "Who read my data" in words, axe and a 390 px screen.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { Browser, Page } from '@playwright/test';
import type { Observation, Resource } from '@medplum/fhirtypes';
import { privateKeyToAccount } from 'viem/accounts';
import { createLedgerClient } from '../src/chain/client.js';
import { LABS } from '../src/demo/terminology.js';
import { decryptKeystore } from '../src/keys/keystore.js';
import type { RunningSystem } from '../src/manager/system.js';
import { plainNameOf } from '../src/manager/web/lib/lab-names.js';
import { scopeLabel } from '../src/protocol/scope-labels.js';
import { ADDRESS_SYSTEM } from '../src/protocol/identifiers.js';
import { gatekeeperClient } from '../src/sdk/gatekeeper.js';
import { grantViewer } from '../src/sdk/grants.js';
import { respond } from '../src/sdk/relationships.js';
import { readSummary } from '../src/sdk/summary.js';
import { describeViolations, seriousViolations } from './helpers/axe.js';
import { noBrowser, signIn, startBrowserDemo, type DemoUser } from './helpers/browser.js';
import { providerAddsLabResult } from './helpers/provider-writes.js';

let system: RunningSystem;
let browser: Browser;
let user: (name: string) => DemoUser;
let alice: Page;

/** A demo user's own key, unlocked as the CLI would with their password. */
function ledgerOf(name: string) {
  const keystore = JSON.parse(readFileSync(user(name).keystoreFile, 'utf8'));
  return createLedgerClient(system.runtime.deployment, { account: privateKeyToAccount(decryptKeystore(keystore, user(name).password)), pollingIntervalMs: 20 });
}

const addressOf = (name: string) => `0x${(JSON.parse(readFileSync(user(name).keystoreFile, 'utf8')) as { address: string }).address.replace(/^0x/, '').toLowerCase()}`;

/** Alice's local Patient id and her records at `provider`, read from its store directly. */
async function aliceAt(provider: 'st-marys' | 'city-lab') {
  const store = system.gatekeepers.get(provider)!.store;
  const patient = await store.findPatientByIdentifier(ADDRESS_SYSTEM, addressOf('alice'));
  assert.ok(patient?.id, `Alice is linked at ${provider}`);
  return { store, patientId: patient.id, everything: await store.everything(patient.id) };
}

async function openRecords(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Inbox' }).click();
  await page.getByRole('button', { name: 'Records' }).click();
  await page.getByTestId('section-lab-results').waitFor({ timeout: 60_000 });
  await page.getByTestId('source').first().waitFor();
}

/**
 * A demo user signed in on a page whose live notification stream (src/manager/web/lib/notifications.ts)
 * is cut, so a view changes only by its own doing: a notification would reload the whole Records tab.
 */
async function signInWithoutLiveNotifications(name: string): Promise<Page> {
  const open = browser.newContext.bind(browser);
  browser.newContext = async (options) => {
    const context = await open(options);
    await context.route(/\/api\/notifications\/0x[0-9a-fA-F]{40}\?proof=/, (route) => route.abort());
    return context;
  };
  try {
    return await signIn(browser, system.url, user(name));
  } finally {
    browser.newContext = open;
  }
}

let quietAlice: Page | undefined;
/**
 * Alice on a page without live notifications, shared by the tests whose view must change only by its
 * own doing: any notification (an audit anchor of her own reads, say) reloads the summary and with it
 * the Records tab, which may re-check and show the tick before the test clicks "Check again".
 */
async function quietAlicePage(): Promise<Page> {
  quietAlice ??= await signInWithoutLiveNotifications('alice');
  return quietAlice;
}

/**
 * axe's serious and critical WCAG 2.1 A/AA violations inside this file's view (`testId`), as
 * helpers/axe.ts's seriousViolations finds them on a whole page; the header and tabs around it are
 * test/manager-a11y-browser.test.ts's to check.
 */
async function assertAccessible(page: Page, testId: string, view: string): Promise<void> {
  const problems = await seriousViolations(page, { include: `[data-testid="${testId}"]` });
  assert.equal(problems.length, 0, `${view}:\n${describeViolations(problems)}`);
}

before(async () => {
  if (noBrowser) return;
  ({ system, browser, user } = await startBrowserDemo());
  alice = await signIn(browser, system.url, user('alice'));
});

after(async () => {
  await browser?.close();
  await system?.stop();
});

test('the Records tab: sections, plain test names, a labelled chart, download, axe and a phone screen', { skip: noBrowser, timeout: 300_000 }, async () => {
  await openRecords(alice);
  for (const id of ['lab-results', 'vital-signs', 'health-problems', 'medicines', 'allergies', 'vaccines', 'visits']) {
    assert.equal(await alice.getByTestId(`section-${id}`).getByRole('heading').first().count(), 1, `section ${id} has a heading`);
  }
  const hospital = await aliceAt('st-marys');
  const visits = hospital.everything.filter((r) => r.resourceType === 'Encounter').length;
  assert.ok(visits > 0);
  assert.equal(await alice.getByTestId('section-visits').locator('li').count(), visits, 'every visit at St Mary’s is listed');

  // Tests by the names people use; the LOINC long name only in the title and the details toggle.
  const labs = (await aliceAt('city-lab')).everything.filter((r): r is Observation => r.resourceType === 'Observation');
  const known = labs.find((o) => plainNameOf(o.code))!;
  assert.ok(known, 'Alice has a lab test with a plain name');
  const plain = plainNameOf(known.code)!.name;
  const loinc = known.code.coding![0]!.display!;
  const table = alice.getByTestId('lab-table');
  const tableText = await table.innerText();
  assert.ok(tableText.includes(plain), `the lab table says “${plain}”`);
  for (const lab of Object.values(LABS)) assert.ok(!tableText.includes(lab.display), `no LOINC long name (${lab.display}) as a label`);
  assert.equal(await table.locator(`span[title^="${loinc} (LOINC ${known.code.coding![0]!.code})"]`).count() > 0, true, 'the LOINC name and code on hover');
  const glossary = alice.getByTestId('lab-names');
  await glossary.locator('summary').click();
  assert.match(await glossary.innerText(), new RegExp(`${plain.replace(/[()]/g, '\\$&')}[\\s\\S]*${loinc.replace(/[[\]/()]/g, '\\$&')}`));

  // The chart of that test: both axes labelled, the unit on the value axis, the normal range in the legend.
  await alice.getByTestId('chart-select').selectOption({ label: plain });
  const unit = known.valueQuantity!.unit!;
  assert.equal(await alice.getByTestId('chart-value-axis').textContent(), `Value (${unit})`);
  assert.equal(await alice.getByTestId('chart-date-axis').textContent(), 'Date of test');
  const range = known.referenceRange![0]!;
  const legend = await alice.getByTestId('chart-legend').innerText();
  assert.match(legend, /Normal range/);
  for (const limit of [range.low?.value, range.high?.value]) if (limit !== undefined) assert.ok(legend.includes(String(limit)), `${legend} shows ${limit}`);
  assert.match((await alice.getByTestId('trend-chart').getAttribute('aria-label'))!, new RegExp(`^${plain.replace(/[()]/g, '\\$&')}: \\d+ results`));
  assert.equal(await alice.getByTestId('trend-chart').getAttribute('role'), 'img');

  // Download: a FHIR collection Bundle of everything shown, St Mary's and City Laboratory records included.
  const [download] = await Promise.all([alice.waitForEvent('download'), alice.getByTestId('download-records').click()]);
  const bundle = JSON.parse(readFileSync((await download.path())!, 'utf8')) as { resourceType: string; type: string; entry: { resource: Resource }[] };
  assert.equal(bundle.resourceType, 'Bundle');
  assert.equal(bundle.type, 'collection');
  const inFile = new Set(bundle.entry.map((e) => `${e.resource.resourceType}/${e.resource.id}`));
  for (const r of [...hospital.everything, ...labs]) assert.ok(inFile.has(`${r.resourceType}/${r.id}`), `${r.resourceType}/${r.id} is in the download`);
  assert.ok(bundle.entry.some((e) => e.resource.resourceType === 'Patient'));

  await assertAccessible(alice, 'patient-records', 'Records');
  await alice.setViewportSize({ width: 390, height: 844 });
  assert.ok((await alice.evaluate(() => document.documentElement.scrollWidth)) <= 390, 'the Records tab fits a 390 px screen');
  await assertAccessible(alice, 'patient-records', 'Records at 390 px');
  await alice.setViewportSize({ width: 1200, height: 900 });
});

test('a record changed behind the ledger: named in words, with “Check again” and “Ask the provider”', { skip: noBrowser, timeout: 300_000 }, async () => {
  const { store, patientId, everything } = await aliceAt('st-marys');
  const vital = everything.find((r): r is Observation => r.resourceType === 'Observation' && r.valueQuantity?.value !== undefined && !!r.category?.some((c) => c.coding?.some((x) => x.code === 'vital-signs')))!;
  // The pointers whose data covers it, from the chain: each must be named as a mismatch.
  const summary = await readSummary(ledgerOf('alice'), addressOf('alice') as `0x${string}`);
  const rel = summary.relationships.find((r) => r.provider.toLowerCase() === system.providers.find((p) => p.name === 'st-marys')!.provider.toLowerCase())!;
  const covering: string[] = [];
  for (const p of rel.pointers) if ((await store.resultSet(p.query, patientId)).some((r) => r.id === vital.id)) covering.push(scopeLabel(p.query));
  assert.ok(covering.length > 0);

  // The hospital changes the value in its database without publishing.
  const original = structuredClone(vital);
  await store.update({ ...vital, valueQuantity: { ...vital.valueQuantity!, value: vital.valueQuantity!.value! + 17 } });
  const page = await quietAlicePage();
  await openRecords(page);
  const mismatch = page.getByTestId('ledger-mismatch');
  await mismatch.waitFor({ timeout: 60_000 });
  const text = await mismatch.innerText();
  for (const label of covering) assert.ok(text.includes(`${label} from St Mary's Hospital`), `${text}\nnames ${label}`);
  const changed = await mismatch.getByTestId('changed-after').innerText();
  assert.ok(changed.includes(plainNameOf(vital.code)!.name) && changed.includes(vital.effectiveDateTime!.slice(0, 10)), `${changed} names the changed record`);
  assert.doesNotMatch(text.split('Details')[0]!, /0x[0-9a-f]{8}/, 'no hash outside the details');
  await mismatch.getByTestId('ask-provider').locator('summary').click();
  assert.match(await mismatch.getByTestId('ask-provider-text').inputValue(), /^Dear St Mary's Hospital,[\s\S]*changed since:/);
  await assertAccessible(page, 'patient-records', 'Records with a mismatch');

  // Put back, then "Check again": the quiet tick returns. The page has no live notifications, so only
  // the click can check again (and the mismatch is still there to click).
  await store.update(original);
  await mismatch.getByRole('button', { name: 'Check again' }).click();
  await page.getByTestId('source').filter({ hasText: "St Mary's Hospital" }).getByTestId('ledger-ok').waitFor({ timeout: 60_000 });
  assert.equal(await page.getByTestId('ledger-mismatch').count(), 0);
});

test('a write whose pointer hashes are still on their way to the chain: “Publishing”, then the tick without a reload', { skip: noBrowser, timeout: 300_000 }, async (t) => {
  if (!system.runtime.node) return t.skip('holds blocks back with evm_setAutomine: only on the embedded node');
  const hospital = system.providers.find((p) => p.name === 'st-marys')!;
  const ledger = ledgerOf('alice');
  const rpc = (method: string, params: unknown[] = []) => ledger.publicClient.request({ method: method as never, params: params as never });
  const summary = await readSummary(ledger, ledger.account!.address);
  const rel = summary.relationships.find((r) => r.provider.toLowerCase() === hospital.provider.toLowerCase())!;
  const gk = gatekeeperClient({ url: hospital.url, gatekeeper: hospital.provider, chainId: system.runtime.deployment.chainId, account: ledger.account! });
  /** Whether the gatekeeper says a pointer's new hash is sent and not mined (the same read as the chart's). */
  const sentNotMined = async () => {
    for (const p of rel.pointers) {
      const r = await gk.get(`/fhir/R4/${p.query}${p.query.includes('?') ? '&' : '?'}_count=1000`);
      if (r.headers.get('X-MedLedger-Pointer-State') === 'pending' && r.headers.get('X-MedLedger-Pointer-Pending-Hash')) return true;
    }
    return false;
  };

  // A page with no live notifications: the tick can only come from the chart checking again by itself.
  const page = await quietAlicePage();
  await rpc('evm_setAutomine', [false]);
  let write: Promise<unknown> | undefined;
  try {
    // The hospital adds a lab result; its answer waits for the block that carries the new pointer hashes.
    write = providerAddsLabResult(system, 'st-marys', user('alice').keystoreFile).catch((err: Error) => err);
    const deadline = Date.now() + 30_000;
    while (!(await sentNotMined())) {
      if (Date.now() > deadline) assert.fail('St Mary’s gatekeeper never said a pointer hash was sent and not mined (X-MedLedger-Pointer-State: pending)');
      await new Promise((r) => setTimeout(r, 50));
    }

    await openRecords(page);
    const source = page.getByTestId('source').filter({ hasText: "St Mary's Hospital" });
    await source.getByTestId('ledger-publishing').waitFor({ timeout: 60_000 });
    const text = await source.innerText();
    assert.match(text, /Publishing — St Mary's Hospital has just added or changed records \(.*Lab results.*\); the ledger will confirm them within a few seconds\./);
    assert.match(text, /started sending them to the ledger (just now|\d+ seconds ago|a minute ago|\d+ minutes ago)/);
    assert.doesNotMatch(text, /do not match|Does not match|Ask St Mary/, `${text}\nis no mismatch`);
    const state = source.getByTestId('ledger-state');
    assert.equal(await state.getAttribute('aria-live'), 'polite', 'the state is announced when it changes');
    assert.match(await state.innerText(), /Publishing/);
    await assertAccessible(page, 'patient-records', 'Records while publishing');

    // The block comes: the chart checks again by itself and the tick replaces "Publishing".
    await rpc('evm_mine');
    await rpc('evm_setAutomine', [true]);
    await source.getByTestId('ledger-ok').waitFor({ timeout: 60_000 });
    assert.equal(await source.getByTestId('ledger-publishing').count(), 0);
    assert.match(await state.innerText(), /Checked against the ledger ✓/);
    const written = await write;
    assert.ok(!(written instanceof Error), `the write was acknowledged: ${written}`);
  } finally {
    await rpc('evm_setAutomine', [true]);
    await rpc('evm_mine');
    await write;
    await page.context().close();
    quietAlice = undefined;
  }
});

test('records of a provider the patient declined stay visible to her, marked as not shared', { skip: noBrowser, timeout: 300_000 }, async () => {
  const ledger = ledgerOf('alice');
  const summary = await readSummary(ledger, ledger.account!.address);
  const lab = system.providers.find((p) => p.name === 'city-lab')!.provider.toLowerCase();
  const rel = summary.relationships.find((r) => r.provider.toLowerCase() === lab)!;
  await respond(ledger, { relationshipId: BigInt(rel.id), accept: false });
  // A fresh sign-in reads her Summary after the refusal.
  await alice.context().close();
  alice = await signIn(browser, system.url, user('alice'));
  await openRecords(alice);
  const source = alice.getByTestId('source').filter({ hasText: 'City Laboratory' });
  await source.getByTestId('declined-note').waitFor({ timeout: 60_000 });
  assert.match(await source.getByTestId('declined-note').innerText(), /You declined City Laboratory’s records: they are not shared with anyone/);
  const { everything } = await aliceAt('city-lab');
  const fromLab = alice.getByTestId('lab-table').locator('tbody tr').filter({ hasText: 'City Laboratory' });
  assert.equal(await fromLab.count(), everything.filter((r) => r.resourceType === 'Observation').length, 'every City Laboratory result is still shown');
});

test('“Who read my data”: names and kinds of records in words, raw request only in the details', { skip: noBrowser, timeout: 300_000 }, async () => {
  // Alice shares St Mary's labs with Carol, and Carol reads them.
  const ledger = ledgerOf('alice');
  const summary = await readSummary(ledger, ledger.account!.address);
  const hospital = system.providers.find((p) => p.name === 'st-marys')!;
  const rel = summary.relationships.find((r) => r.provider.toLowerCase() === hospital.provider.toLowerCase())!;
  const carol = ledgerOf('carol');
  await grantViewer(ledger, { relationshipId: BigInt(rel.id), viewer: carol.account!.address, scope: 'Observation?category=laboratory', expiresAt: Math.floor(Date.now() / 1000) + 3600 });
  const read = await gatekeeperClient({ url: hospital.url, gatekeeper: hospital.provider, chainId: system.runtime.deployment.chainId, account: carol.account! }).get<{ entry?: unknown[] }>('/fhir/R4/Observation?category=laboratory&_count=5');
  assert.ok((read.body.entry?.length ?? 0) > 0, 'Carol read some of Alice’s lab results');

  await alice.getByRole('button', { name: 'Who read my data' }).click();
  const row = alice.getByTestId('audit-row').filter({ hasText: 'Carol' }).first();
  await row.waitFor({ timeout: 120_000 }).catch(async (err: Error) => assert.fail(`${err.message}\n${await alice.getByTestId('who-read').or(alice.locator('main')).first().innerText()}`));
  const visible = (await row.innerText()).split('Details')[0]!;
  assert.match(visible, /Carol \(researcher\)\s+St Mary's Hospital\s+Lab results\s+Allowed/);
  assert.doesNotMatch(visible, /0x[0-9a-f]{6}|\/fhir\/R4|_count/, 'no addresses or raw queries unless asked');
  await row.locator('details summary').click();
  assert.match(await row.locator('details').innerText(), /GET \/fhir\/R4\/Observation\?category=laboratory&_count=5/);
  await assertAccessible(alice, 'who-read', 'Who read my data');
});
