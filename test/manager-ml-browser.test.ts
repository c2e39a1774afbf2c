/**
 * Machine learning in the EHR Manager, clicked through in Chromium on one demo system (one start for
 * all the ML views, to keep CI short): the clinician's risk panel, the patient's own, the
 * public-health officer's forecast, and a provider's upload. Each scenario lives in test/browser-ml/.
 */
import { after, before, test } from 'node:test';
import type { Browser } from '@playwright/test';
import type { RunningSystem } from '../src/manager/system.js';
import { noBrowser, startBrowserDemo, type DemoUser } from './helpers/browser.js';
import type { MlBrowserContext } from './browser-ml/context.js';
import { clinicianSeesHeartRisk, patientSeesOwnRisk, consentLimitsTheRiskPanel } from './browser-ml/heart.js';
import { publicHealthSeesForecast } from './browser-ml/public-health.js';
import { providerUploadsAScan } from './browser-ml/uploads.js';

let system: RunningSystem;
let browser: Browser;
let user: (name: string) => DemoUser;
const ctx = (): MlBrowserContext => ({ system, browser, user });

before(async () => {
  if (!noBrowser) ({ system, browser, user } = await startBrowserDemo());
});

after(async () => {
  await browser?.close();
  await system?.stop();
});

const options = { skip: noBrowser, timeout: 300_000 };
test('clinician: heart-disease risk with contributions, similar cases and suggestions', options, () => clinicianSeesHeartRisk(ctx()));
test('patient: their own risk in plain language, computed in the browser', options, () => patientSeesOwnRisk(ctx()));
test('consent: an input the grant does not cover is missing; after revoke the panel shows no data', options, () => consentLimitsTheRiskPanel(ctx()));
test('public health: forecast with its bands and an alert on the Salmonella series', options, () => publicHealthSeesForecast(ctx()));
test('provider: uploads a scan and sees its classification', options, () => providerUploadsAScan(ctx()));
