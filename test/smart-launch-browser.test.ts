/**
 * SMART App Launch end to end with SMART's own JavaScript client (fhirclient's browser bundle) in
 * Chromium: a tiny app page launches standalone against the gatekeeper; the patient signs in to the
 * EHR Manager with their own key, approves lab results (not conditions) on the consent screen, which
 * writes the on-chain grant; the app gets a token (PKCE S256), reads the labs, is refused conditions,
 * and after the patient revokes on the Sharing tab its next read is refused.
 *
 * A fixture of its own (a chain, one gatekeeper, the manager server) rather than the whole demo.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from '@playwright/test';
import type { FastifyInstance } from 'fastify';
import { createLedgerClient } from '../src/chain/client.js';
import { createWatcher } from '../src/client/watcher.js';
import { encryptKeystore } from '../src/keys/keystore.js';
import { buildManager } from '../src/manager/server.js';
import { createNotificationHub } from '../src/manager/notifications.js';
import { packageRoot } from '../src/package-root.js';
import { openDb, type Db } from '../src/records/db.js';
import { grantsReceived } from '../src/sdk/grants.js';
import type { SmartApp } from '../src/gatekeeper/smart/apps.js';
import type { SmartOptions } from '../src/gatekeeper/smart/authority.js';
import { launchChromium, noBrowser, signIn } from './helpers/browser.js';
import { testDatabase } from './helpers/db.js';
import { startSmartFixture, type SmartFixture } from './helpers/smart.js';

const PASSWORD = 'alice-password';
const SCOPE = 'launch/patient patient/Observation.rs?category=laboratory patient/Condition.rs offline_access';

/** The app: launch.html starts the standalone launch, app.html finishes it and reads. */
const PAGES: Record<string, string> = {
  '/launch.html': `<!doctype html><script src="/fhir-client.js"></script><script>
    const q = new URLSearchParams(location.search);
    FHIR.oauth2.authorize({ iss: q.get('iss'), clientId: 'lab-viewer', scope: q.get('scope'), redirectUri: '/app.html', pkceMode: 'required' });
  </script>`,
  '/app.html': `<!doctype html><body><pre id="out"></pre><script src="/fhir-client.js"></script><script>
    const out = document.getElementById('out');
    FHIR.oauth2.ready().then(async (client) => {
      window.smartClient = client;
      const bundle = await client.request('Observation');
      out.textContent = JSON.stringify({ patient: client.patient.id, categories: (bundle.entry || []).map((e) => e.resource.category[0].coding[0].code) });
      document.body.dataset.state = 'ready';
    }, (e) => { out.textContent = 'error: ' + e.message; document.body.dataset.state = 'error'; });
  </script></body>`,
};

let s: SmartFixture;
let smart: SmartOptions;
let appServer: Server;
let appUrl: string;
let manager: FastifyInstance;
let managerUrl: string;
let managerDb: Db;
let stopWatcher: () => Promise<void>;
let browser: Browser;
let app: SmartApp;

before(async () => {
  if (noBrowser) return;
  smart = {};
  s = await startSmartFixture({ corsOrigins: ['*'], smart, patients: 1 });
  const bundle = readFileSync(join(packageRoot(), 'node_modules', 'fhirclient', 'build', 'fhir-client.js'));
  appServer = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/fhir-client.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    const page = PAGES[path];
    return page ? res.writeHead(200, { 'content-type': 'text/html' }).end(page) : res.writeHead(404).end();
  });
  await new Promise<void>((r) => appServer.listen(0, '127.0.0.1', r));
  appUrl = `http://127.0.0.1:${(appServer.address() as AddressInfo).port}`;
  app = await s.register({ clientId: 'lab-viewer', name: 'Lab Viewer', redirectUris: [`${appUrl}/app.html`] });

  const alice = s.patients[0]!;
  const deployment = s.f.runtime.deployment;
  const keystore = JSON.stringify(encryptKeystore(alice.key, PASSWORD, 1 << 12));
  managerDb = await openDb(await testDatabase());
  const watcher = createWatcher({ ledger: createLedgerClient(deployment, { pollingIntervalMs: 100 }), db: managerDb });
  await watcher.init();
  stopWatcher = () => watcher.stop();
  manager = buildManager({
    chainId: deployment.chainId,
    contract: deployment.contract,
    deployBlock: deployment.deployBlock,
    rpcUrl: deployment.rpcUrl,
    providers: [{ name: 'st-marys', label: "St Mary's", address: s.provider.account!.address, gatekeeperUrl: s.gk.url }],
    users: [{ name: 'alice', role: 'patient', label: 'Alice', address: alice.client.account!.address }],
    keystoreOf: (a) => (a.toLowerCase() === alice.client.account!.address.toLowerCase() ? keystore : undefined),
    hub: createNotificationHub(watcher, managerDb),
    webRoot: join(packageRoot(), 'dist', 'web'),
    demo: true,
  });
  managerUrl = await manager.listen({ port: 0, host: '127.0.0.1' });
  smart.authorizeUrl = `${managerUrl}/smart/authorize`;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await manager?.close();
  await stopWatcher?.();
  await managerDb?.close();
  appServer?.close();
  await s?.close();
});

const requestStatus = (page: Page, path: string) =>
  page.evaluate((p) => (window as unknown as { smartClient: { request(p: string): Promise<unknown> } }).smartClient.request(p).then(() => 200, (e: { status?: number; statusCode?: number }) => e.status ?? e.statusCode ?? 0), path);

test('fhirclient: standalone launch, consent on chain, approved labs read, conditions and revoked reads refused', { skip: noBrowser }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${appUrl}/launch.html?${new URLSearchParams({ iss: s.fhirBase, scope: SCOPE })}`);

  // The manager's authorize page: which app, then sign-in with the patient's own key.
  await page.waitForURL(/\/smart\/authorize\?/);
  await page.locator('[data-testid=authorize-intro], [data-testid=authorize-error]').first().waitFor();
  assert.match((await page.locator('main').textContent()) ?? '', /Lab Viewer asks to read your records at St Mary's/);
  await page.getByTestId('signin-user').selectOption({ label: 'Alice — patient' });
  await page.getByTestId('signin-password').fill(PASSWORD);
  await page.getByTestId('signin-submit').click();

  // Consent: labs yes, conditions no, for one day.
  await page.getByTestId('consent').waitFor({ timeout: 60_000 });
  await page.getByTestId('consent-scope-patient/Condition.rs').uncheck();
  await page.getByTestId('consent-expiry').selectOption({ label: '1 day' });
  const approvedAt = Math.floor(Date.now() / 1000);
  await page.getByTestId('consent-approve').click();

  // Back in the app: fhirclient redeemed the code (PKCE S256) and read.
  await page.waitForSelector('body[data-state]', { timeout: 60_000 });
  const out = await page.locator('#out').textContent();
  assert.deepEqual(JSON.parse(out!), { patient: s.patients[0]!.id, categories: ['laboratory'] });

  // The consent is on chain: one grant to the app's address, for the labs, for a day.
  const grants = await grantsReceived(s.provider, { viewer: app.address });
  assert.deepEqual(grants.map((g) => g.scope), ['Observation?category=laboratory']);
  assert.ok(grants[0]!.expiresAt >= approvedAt + 86_400 && grants[0]!.expiresAt <= Math.floor(Date.now() / 1000) + 86_400);

  assert.equal(await requestStatus(page, 'Condition'), 403);
  assert.equal(await requestStatus(page, 'Observation'), 200);

  // The patient revokes on the Sharing tab, where the app is listed by name like any viewer.
  const ehr = await signIn(browser, managerUrl, { name: 'alice', label: 'Alice', role: 'patient', password: PASSWORD, keystoreFile: '' });
  await ehr.getByRole('button', { name: 'Sharing', exact: true }).click();
  const row = ehr.getByTestId('grants').getByRole('row').filter({ hasText: 'Lab Viewer (app)' });
  await row.getByRole('button', { name: 'Revoke' }).click();
  await ehr.getByRole('dialog').getByRole('button', { name: 'Yes, revoke' }).click();
  await ehr.getByRole('status').filter({ hasText: 'Revoked' }).waitFor({ timeout: 60_000 });

  assert.equal(await requestStatus(page, 'Observation'), 403);
  await context.close();
});
