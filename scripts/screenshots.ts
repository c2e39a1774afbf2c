/**
 * `npm run screenshots`: copies the screenshots the browser tests took (test-results/screenshots/,
 * ignored by git) into docs/, where the README shows them. Tests never write docs/ themselves, so
 * `npm test` leaves the working tree clean (issue 14 §1); updating the README's images is this explicit step.
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const from = join(root, 'test-results', 'screenshots');
const to = join(root, 'docs');
/** The images the README shows; a failed test's screenshots stay where they are. */
const README_IMAGES = ['patient-view.png', 'provider-view.png', 'third-party-view.png', 'guardian-view.png', 'phone-patient-view.png', 'clinician-risk.png', 'public-health.png'];

const missing = README_IMAGES.filter((name) => !existsSync(join(from, name)));
if (missing.length) {
  console.error(`no ${missing.join(', ')} in test-results/screenshots: run the browser tests first (node --import tsx --test test/manager-browser.test.ts test/manager-a11y-browser.test.ts test/manager-ml-browser.test.ts)`);
  process.exit(1);
}
mkdirSync(to, { recursive: true });
for (const name of README_IMAGES) {
  copyFileSync(join(from, name), join(to, name));
  console.log(`docs/${name} ← test-results/screenshots/${name}`);
}
