/**
 * Headless Chromium for browser tests: Debian's `chromium` (.ci/run installs it; Playwright's own
 * browser download is not reachable here). CHROMIUM_PATH overrides the binary.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from '@playwright/test';
import { startSystem, type RunningSystem } from '../../src/manager/system.js';
import { testConfig } from '../../bench/harness/chain.js';

export interface DemoUser {
  name: string;
  label?: string;
  role: string;
  demoPassword?: string;
}

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

/** Opens the manager in a new context and signs in as a demo user (password from the demo config). */
export async function signIn(browser: Browser, url: string, user: DemoUser): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  await page.goto(url);
  await page.getByTestId('signin-user').selectOption({ label: `${user.label ?? user.name} — ${user.role}` });
  await page.getByTestId('signin-password').fill(user.demoPassword!);
  await page.getByTestId('signin-submit').click();
  await page.getByTestId('signed-in-as').waitFor({ timeout: 60_000 });
  return page;
}

/** A browser test file's world: the whole demo system (3 patients, free ports), its demo users, and Chromium. */
export async function startBrowserDemo(): Promise<{ system: RunningSystem; browser: Browser; user: (name: string) => DemoUser }> {
  const system = await startSystem({ ...testConfig(), port: 0, gatekeeperPort: 0 }, { patients: 3 });
  const { users } = (await (await fetch(`${system.url}/api/config`)).json()) as { users: DemoUser[] };
  const browser = await launchChromium();
  return { system, browser, user: (name) => users.find((u) => u.name === name)! };
}
