/** What every ML browser scenario gets: the running demo system, Chromium, and the demo users with their passwords. */
import type { Browser } from '@playwright/test';
import type { RunningSystem } from '../../src/manager/system.js';
import type { DemoUser } from '../helpers/browser.js';

export interface MlBrowserContext {
  system: RunningSystem;
  browser: Browser;
  user: (name: string) => DemoUser;
}
