/**
 * Trains the served tabular models (heart-risk, breast-cytology) from the vendored data and writes
 * their artefacts, data/models/<model>/model.json (see data/models/README.md), by running
 * `medledger ml train` (src/cli/ml.ts; the compiled CLI, built first), which draws a progress bar on
 * stderr. About 10 s a model on two cores; deterministic, so a re-run writes the same bytes:
 *
 *   nice -n 10 node --import tsx scripts/train-models.ts [heart-risk] [breast-cytology]
 *
 * Then update their lines in data/SHA256SUMS (`sha256sum models/<model>/model.json` inside data/).
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDist } from './build-dist.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
buildDist({ lenient: true });
execFileSync(process.execPath, [join(repo, 'bin', 'medledger.js'), 'ml', 'train', ...process.argv.slice(2)], { stdio: 'inherit', cwd: repo });
