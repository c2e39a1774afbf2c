/**
 * `npm run bench`: runs every benchmark and writes bench/results.json, bench/results.md, and the
 * table between the bench markers in README.md. Each timing sits beside a reference measured in the
 * same run, so numbers from noisy machines stay comparable. `npm run bench -- gas` runs one section.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GAS_TARGETS, measureGas } from './gas.js';
import { benchGatekeeper } from './gatekeeper.js';
import { benchStore } from './store.js';
import { benchSync } from './sync.js';

const here = dirname(fileURLToPath(import.meta.url));
const resultsFile = join(here, 'results.json');
const readme = join(here, '..', 'README.md');
const only = process.argv[2];

type Results = Record<string, Record<string, number | string>>;
const results: Results = existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as Results) : {};
const want = (section: string) => !only || only === section;

if (want('gas')) {
  console.log('gas: each flow step on a fresh embedded chain…');
  results.gas = await measureGas();
}
if (want('store')) {
  console.log('store: 100,000 resources in PGlite, then typical gatekeeper searches…');
  const s = await benchStore(100_000);
  results.store = { ...s };
}
if (want('gatekeeper')) {
  console.log('gatekeeper: signed and token reads against raw signature recovery…');
  results.gatekeeper = { ...(await benchGatekeeper(console.log, 10)) };
}
if (want('sync')) {
  console.log('sync: a fresh Ethereum client syncs 10,000 events…');
  results.sync = { ...(await benchSync(10_000)) };
}
results.meta = { date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length };
writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);

const fmt = (v: number | string | undefined, digits = 0) =>
  typeof v === 'number' ? v.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '—';
const met = (ok: boolean | undefined) => (ok === undefined ? '' : ok ? 'yes' : '**no**');
const g = results.gas ?? {};
const s = results.store ?? {};
const k = results.gatekeeper ?? {};
const y = results.sync ?? {};
const num = (v: unknown) => (typeof v === 'number' ? v : NaN);
const MEDREC: Record<string, string> = { addRelationship: 'MIT MedRec 2.0: 1,390,000', grantViewer: 'MIT MedRec 2.0: 321,000' };
const rows = [
  ...Object.entries(GAS_TARGETS).map(([op, target]) => `| \`gas.${op}\` | ${fmt(g[op])} | ≤ ${fmt(target)} | ${met(num(g[op]) <= target)} | ${MEDREC[op] ?? ''} |`),
  `| \`gas.addPointer\` | ${fmt(g.addPointer)} | — | | another pointer on a relationship |`,
  `| \`store.searchP50Ms\` | ${fmt(s.searchP50Ms, 2)} | ≤ 2 | ${met(num(s.searchP50Ms) <= 2)} | at \`store.resources\` = ${fmt(s.resources)}; primary-key read p50 ${fmt(s.readP50Ms, 2)} ms |`,
  `| \`store.searchP99Ms\` | ${fmt(s.searchP99Ms, 2)} | — | | |`,
  `| \`gatekeeper.verifyLimitPerSec\` | ${fmt(k.verifyLimitPerSec)} | reference | | raw secp256k1 recoveries/s on one thread |`,
  `| \`gatekeeper.signedReadsPerSec\` | ${fmt(k.signedReadsPerSec)} | ≥ 80 % of limit (${fmt(0.8 * num(k.verifyLimitPerSec))}) | ${met(num(k.signedReadsPerSec) >= 0.8 * num(k.verifyLimitPerSec))} | ${fmt((100 * num(k.signedReadsPerSec)) / num(k.verifyLimitPerSec))} % of limit; p99 ${fmt(k.signedReadP99Ms, 1)} ms |`,
  `| \`gatekeeper.tokenReadsPerSec\` | ${fmt(k.tokenReadsPerSec)} | ≥ 3,000 | ${met(num(k.tokenReadsPerSec) >= 3000)} | p99 ${fmt(k.tokenReadP99Ms, 1)} ms |`,
  `| \`sync.eventsPerSec\` | ${fmt(y.eventsPerSec)} | ≥ 2,000 | ${met(num(y.eventsPerSec) >= 2000)} | ${fmt(y.events)} events; fetching and decoding alone ${fmt(y.decodeOnlyEventsPerSec)}/s |`,
];
const meta = results.meta;
const table = [
  '| metric | measured | target | met | beside it |',
  '| --- | ---: | ---: | :---: | --- |',
  ...rows,
  '',
  `Measured ${String(meta.date).slice(0, 10)} on ${meta.cpu} (${meta.cores} cores), Node ${meta.node}.`,
].join('\n');
writeFileSync(join(here, 'results.md'), `${table}\n`);
if (existsSync(readme)) {
  writeFileSync(readme, readFileSync(readme, 'utf8').replace(/(<!-- bench:start -->\n)[\s\S]*?(<!-- bench:end -->)/, `$1${table}\n$2`));
}
console.log(table);
