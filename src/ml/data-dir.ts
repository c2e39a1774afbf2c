/**
 * Where the vendored data sets live: the repository's `data/` folder (see data/README.md).
 *
 * Found by walking up from this module to the first folder that holds both `package.json` and
 * `data/`, so it works wherever the clone sits and whether this file runs as `src/ml/data-dir.ts`
 * (tsx) or compiled as `dist/src/ml/data-dir.js` (a `dist/package.json`, if the build writes one,
 * has no `data/` beside it and is skipped). `MEDLEDGER_DATASETS_DIR` overrides the search, e.g. for
 * a copy of the data kept outside the checkout.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DATA_DIR_ENV = 'MEDLEDGER_DATASETS_DIR';

let found: string | undefined;

/** The data folder: `$MEDLEDGER_DATASETS_DIR` if set, else the repository's `data/` (see above). */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  const override = env[DATA_DIR_ENV];
  if (override) return resolve(override);
  found ??= findDataDir(dirname(fileURLToPath(import.meta.url)));
  return found;
}

/** The `data/` folder beside the first `package.json` at or above `start`. */
export function findDataDir(start: string): string {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    const data = join(dir, 'data');
    if (existsSync(join(dir, 'package.json')) && existsSync(data) && statSync(data).isDirectory()) return data;
    if (dirname(dir) === dir) {
      throw new Error(`no data/ folder beside a package.json at or above ${start}: run from a MedLedger checkout, or set ${DATA_DIR_ENV} (see data/README.md)`);
    }
  }
}
