/**
 * `npm run bench`: runs every benchmark and writes bench/results.json, bench/results.md, and the
 * table between the bench markers in README.md. Sections other benchmarks own are kept.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GAS_TARGETS, measureGas } from './gas.js';

const here = dirname(fileURLToPath(import.meta.url));
const resultsFile = join(here, 'results.json');
const readme = join(here, '..', 'README.md');

type Results = Record<string, unknown> & { gas?: Record<string, number> };

const results: Results = existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as Results) : {};

console.log('gas: measuring each flow step on a fresh embedded chain…');
results.gas = await measureGas();
results.meta = {
  date: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
};
writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);

const MEDREC: Record<string, string> = { addRelationship: '1,390,000', grantViewer: '321,000' };
const rows = Object.entries(GAS_TARGETS).map(([op, target]) => {
  const used = results.gas![op]!;
  return `| \`gas.${op}\` | ${used.toLocaleString('en')} | ≤ ${target.toLocaleString('en')} | ${used <= target ? 'yes' : '**no**'} | ${MEDREC[op] ?? '—'} |`;
});
const table = [
  '| metric | measured | target | met | MIT MedRec 2.0 |',
  '| --- | ---: | ---: | :---: | ---: |',
  ...rows,
  `| \`gas.addPointer\` (another pointer) | ${results.gas.addPointer!.toLocaleString('en')} | — | | — |`,
  '',
  `Measured ${(results.meta as { date: string }).date.slice(0, 10)} on ${(results.meta as { cpu: string }).cpu}, Node ${process.version}.`,
].join('\n');
writeFileSync(join(here, 'results.md'), `${table}\n`);

if (existsSync(readme)) {
  const text = readFileSync(readme, 'utf8');
  const updated = text.replace(/(<!-- bench:start -->\n)[\s\S]*?(<!-- bench:end -->)/, `$1${table}\n$2`);
  writeFileSync(readme, updated);
}
console.log(table);
const missed = Object.entries(GAS_TARGETS).filter(([op, t]) => results.gas![op]! > t);
if (missed.length) {
  console.error(`targets missed: ${missed.map(([op]) => op).join(', ')}`);
  process.exitCode = 1;
}
