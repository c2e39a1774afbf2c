/**
 * Writes the outbreak forecast's card, data/models/outbreak-forecast/card.json (src/ml/outbreak-card.ts),
 * from the benchmark's evaluation (bench/ml-outbreak.ts), so a system start reads figures instead of
 * fitting thousands of ARIMA models:
 *
 *   node --import tsx scripts/outbreak-card.ts             # the figures in bench/results.json (ml.outbreak)
 *   nice -n 10 node --import tsx scripts/outbreak-card.ts --evaluate   # runs the evaluation again (minutes)
 *
 * Then update its line in data/SHA256SUMS (`sha256sum models/outbreak-forecast/card.json` inside data/).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchMlOutbreak } from '../bench/ml-outbreak.js';
import { outbreakCard, outbreakCardPath } from '../src/ml/outbreak-card.js';

const { values } = parseArgs({ options: { evaluate: { type: 'boolean' } } });
const results = join(dirname(fileURLToPath(import.meta.url)), '..', 'bench', 'results.json');
const figures: Record<string, number> = values.evaluate ? await benchMlOutbreak() : JSON.parse(readFileSync(results, 'utf8')).ml.outbreak;
const path = outbreakCardPath();
mkdirSync(dirname(path), { recursive: true });
writeFileSync(path, `${JSON.stringify(outbreakCard(figures), null, 2)}\n`);
console.log(`wrote ${path}`);
