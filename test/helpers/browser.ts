/**
 * Headless Chromium for browser tests: Debian's `chromium` (.ci/run installs it; Playwright's own
 * browser download is not reachable here). CHROMIUM_PATH overrides the binary.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from '@playwright/test';
import { loadUsers } from '../../src/keys/users.js';
import { DEMO_SIGN_IN_ROLES } from '../../src/manager/demo-mode.js';
import { startSystem, type RunningSystem } from '../../src/manager/system.js';
import type { HeartHospital } from '../../src/ml/data.js';
import { testConfig } from '../../bench/harness/chain.js';

export interface DemoUser {
  name: string;
  label?: string;
  role: string;
  /** The password the test set up (from the demo data directory; the manager never sends one). */
  password: string;
  /** The user's own keystore file, as a provider keeps it. */
  keystoreFile: string;
}

/** Where browser tests write screenshots: ignored by git; `npm run screenshots` copies them into docs/. */
export const SCREENSHOT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-results', 'screenshots');

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Why browser tests cannot run here, or undefined when they can. When CHROMIUM_PATH is set (.ci/run
 * sets it) the tests always run, so a missing browser in CI fails instead of skipping.
 */
export const noBrowser =
  existsSync(CHROMIUM) || process.env.CHROMIUM_PATH ? undefined : `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // Without the networking flags Chromium keeps trying to reach Google's services from a closed network.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

/**
 * Opens the manager in a new context and signs in: a demo patient (or researcher) picks their name;
 * a provider, whose key the manager never hands out, loads its keystore file. Both type the password.
 */
export async function signIn(browser: Browser, url: string, user: DemoUser): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  await page.goto(url);
  if (DEMO_SIGN_IN_ROLES.has(user.role)) {
    await page.getByTestId('signin-user').selectOption({ label: `${user.label ?? user.name} — ${user.role}` });
  } else {
    await page.getByTestId('signin-file').setInputFiles(user.keystoreFile);
    await page.getByTestId('signin-file-owner').waitFor();
  }
  await page.getByTestId('signin-password').fill(user.password);
  await page.getByTestId('signin-submit').click();
  await page.getByTestId('signed-in-as').waitFor({ timeout: 60_000 });
  return page;
}

/**
 * A browser test file's world: the whole demo system (3 patients, free ports, demo mode), its demo users with their passwords, and Chromium.
 * The four research-site processes only with `researchSites` (or those of the hospitals listed; study tests: they need the compiled CLI and add start time).
 * The demo providers' gatekeepers run in the test's process (tests read their stores), unless `providerProcesses`.
 */
export async function startBrowserDemo({ researchSites = false, providerProcesses = false }: { researchSites?: boolean | readonly HeartHospital[]; providerProcesses?: boolean } = {}): Promise<{ system: RunningSystem; browser: Browser; user: (name: string) => DemoUser }> {
  const cfg = { ...testConfig(), port: 0, gatekeeperPort: 0 };
  const system = await startSystem(cfg, { patients: 3, demo: true, researchSites, providerProcesses });
  const users: DemoUser[] = loadUsers(cfg.dataDir).map((u) => ({
    name: u.name,
    label: u.label,
    role: u.role,
    password: u.demoPassword!,
    keystoreFile: join(cfg.dataDir, 'keys', `${u.address.toLowerCase()}.json`),
  }));
  const browser = await launchChromium();
  return { system, browser, user: (name) => users.find((u) => u.name === name)! };
}
