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
import { benchMlTabular, ML_TABULAR_TARGETS } from './ml-tabular.js';
import { benchMlOutbreak } from './ml-outbreak.js';
import { benchMlFederated } from './ml-federated.js';
import { benchMlImagesDocs } from './ml-images-docs.js';
import { benchReliability } from './reliability.js';
import { benchSoak } from './soak.js';
import { benchCli } from './cli.js';

const here = dirname(fileURLToPath(import.meta.url));
const resultsFile = join(here, 'results.json');
const readme = join(here, '..', 'README.md');
const only = process.argv[2];

type Results = Record<string, Record<string, unknown>>;
const results: Results = existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as Results) : {};
const want = (section: string) => !only || only === section;

if (want('cli')) {
  console.log('cli: medledger --help, compiled (dist/src) and the old way (tsx on src/), 10 runs each…');
  results.cli = { ...(await benchCli(console.log, 10)) };
}
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
if (want('load')) {
  console.log('load: 5-minute soak of one gatekeeper under concurrent signed and token readers and a stream of writers…');
  results.load = { ...(await benchSoak(console.log, Number(process.env.SOAK_MINUTES ?? 5))) };
}
if (want('reliability')) {
  console.log('reliability: seeded fault-injection runs (--runs, default 50; --seed), kill -9 of node, gatekeeper and client at random and targeted points…');
  results.reliability = { ...(await benchReliability(console.log)) };
}
// The ml section is measured in parts (`npm run bench -- ml` runs them all, `npm run bench -- ml-heart`
// one); each part's keys are merged into results.ml, over what the file holds now.
const ML_PARTS = ['ml-tabular', 'ml-outbreak', 'ml-federated', 'ml-images'] as const;
const wantMl = (part: (typeof ML_PARTS)[number]) => !only || only === 'ml' || only === part;
const ml: Record<string, unknown> = {};
if (wantMl('ml-tabular')) {
  console.log('ml: risk models (5-fold CV × 3), kNN, federated averaging…');
  Object.assign(ml, await benchMlTabular(console.log));
}
if (wantMl('ml-outbreak')) {
  console.log('ml: outbreak forecasting and alerts…');
  const outbreak = await benchMlOutbreak(console.log);
  Object.assign(ml, { alertSensitivity: outbreak.alertSensitivity, falseAlarmsPerYear: outbreak.falseAlarmsPerYear, outbreak });
}
if (wantMl('ml-federated')) {
  console.log('ml: federated averaging through four hospital stores and gatekeepers, every round recorded on chain…');
  ml.federatedStores = await benchMlFederated(console.log);
}
if (wantMl('ml-images')) {
  console.log('ml: CNN on PneumoniaMNIST (several minutes), document classifier, OCR…');
  Object.assign(ml, await benchMlImagesDocs(console.log));
}
const mlMeasured = Object.keys(ml).length > 0;
// A section this run did not measure is taken from the file as it is now: another bench may have written it meanwhile.
const onDisk: Results = only && existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as Results) : {};
for (const [section, value] of Object.entries(onDisk)) if (section !== only && section !== 'meta') results[section] = value;
if (mlMeasured) results.ml = { ...(onDisk.ml ?? results.ml ?? {}), ...ml };
results.meta = { date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length };
writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);

const fmt = (v: unknown, digits = 0) =>
  typeof v === 'number' ? v.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '—';
const met = (ok: boolean | undefined) => (ok === undefined ? '' : ok ? 'yes' : '**no**');
const g = results.gas ?? {};
const s = results.store ?? {};
const k = results.gatekeeper ?? {};
const y = results.sync ?? {};
const m = (results.ml ?? {}) as { [k: string]: number } & { outbreak?: Record<string, number> };
const o = m.outbreak ?? {};
const fs = (m as { federatedStores?: Record<string, number> }).federatedStores ?? {};
const l = results.load ?? {};
const r = results.reliability ?? {};
const c = results.cli ?? {};
const num = (v: unknown) => (typeof v === 'number' ? v : NaN);
const MEDREC: Record<string, string> = { addRelationship: 'MIT MedRec 2.0: 1,390,000', grantViewer: 'MIT MedRec 2.0: 321,000' };
const rows = [
  ...Object.entries(GAS_TARGETS).map(([op, target]) => `| \`gas.${op}\` | ${fmt(g[op])} | ≤ ${fmt(target)} | ${met(num(g[op]) <= target)} | ${MEDREC[op] ?? ''} |`),
  `| \`gas.addPointer\` | ${fmt(g.addPointer)} | — | | another pointer on a relationship |`,
  `| \`gas.anchorAudit\` | ${fmt(g.anchorAudit)} | — | | a gatekeeper's Merkle root of its new audit events (every minute by default) |`,
  `| \`cli.startMs\` | ${fmt(c.startMs)} | reported | | \`medledger --help\` wall time, median of ${fmt(c.runs)}: the compiled CLI; the same through tsx at run time (\`cli.startMsTsx\`, as before dist/) ${fmt(c.startMsTsx)} ms |`,
  `| \`store.searchP50Ms\` | ${fmt(s.searchP50Ms, 2)} | ≤ 2 | ${met(num(s.searchP50Ms) <= 2)} | at \`store.resources\` = ${fmt(s.resources)}; primary-key read p50 ${fmt(s.readP50Ms, 2)} ms |`,
  `| \`store.searchP99Ms\` | ${fmt(s.searchP99Ms, 2)} | — | | |`,
  `| \`gatekeeper.verifyLimitPerSec\` | ${fmt(k.verifyLimitPerSec)} | reference | | raw secp256k1 recoveries/s on one thread |`,
  `| \`gatekeeper.signedReadsPerSec\` | ${fmt(k.signedReadsPerSec)} | ≥ 80 % of limit (${fmt(0.8 * num(k.verifyLimitPerSec))}) | ${met(num(k.signedReadsPerSec) >= 0.8 * num(k.verifyLimitPerSec))} | ${fmt((100 * num(k.signedReadsPerSec)) / num(k.verifyLimitPerSec))} % of limit; p99 ${fmt(k.signedReadP99Ms, 1)} ms |`,
  `| \`gatekeeper.signedRecoveredReadsPerSec\` | ${fmt(k.signedRecoveredReadsPerSec)} | reported | | signed reads with the signer-key cache off: every signature recovered (first-time signers); ${fmt((100 * num(k.signedRecoveredReadsPerSec)) / num(k.verifyLimitPerSec))} % of limit |`,
  `| \`gatekeeper.tokenReadsPerSec\` | ${fmt(k.tokenReadsPerSec)} | ≥ 3,000 | ${met(num(k.tokenReadsPerSec) >= 3000)} | p99 ${fmt(k.tokenReadP99Ms, 1)} ms |`,
  `| \`sync.eventsPerSec\` | ${fmt(y.eventsPerSec)} | ≥ 2,000 | ${met(num(y.eventsPerSec) >= 2000)} | ${fmt(y.events)} events; fetching and decoding alone ${fmt(y.decodeOnlyEventsPerSec)}/s |`,
  `| \`load.readsPerSec\` | ${fmt(l.readsPerSec)} | reported | | ${fmt(l.minutes)}-minute soak: ${fmt(l.readers)} reader addresses (token and signed) beside ${fmt(l.writesPerSec, 1)} writes/s (\`load.writesPerSec\`); p50 ${fmt(l.p50Ms, 1)} ms |`,
  `| \`load.p99Ms\` | ${fmt(l.p99Ms, 1)} | reported | | read latency over the whole soak |`,
  `| \`load.errors\` | ${fmt(l.errors)} | 0 | ${met(l.errors === undefined ? undefined : num(l.errors) === 0)} | non-200 reads plus failed writes |`,
  `| \`load.memGrowthPct\` | ${fmt(l.memGrowthPct, 1)} | < 10 | ${met(l.memGrowthPct === undefined ? undefined : num(l.memGrowthPct) < 10)} | RSS minute 1 → end ${fmt(l.memStartMb)} → ${fmt(l.memEndMb)} MB; JS heap after GC ${fmt(l.heapGrowthPct, 1)} % |`,
  `| \`reliability.faultRuns\` | ${fmt(r.faultRuns)} | ≥ 50, all clean | ${met(r.faultRuns === undefined ? undefined : num(r.cleanRuns) === num(r.faultRuns) && num(r.faultRuns) >= 50)} | ${fmt(r.cleanRuns)} clean (seeds ${r.firstSeed ?? '—'}–${num(r.firstSeed) + num(r.faultRuns) - 1}); ${fmt(r.kills)} kill -9s of node, gatekeeper and client, 3 per run targeted (rollbacks after a revoke and a pointer update to a higher base fee, gatekeeper at a pointer send); ${fmt(r.txsLostByCrash)} acknowledged transactions lost by node crashes, all back on chain (${fmt(r.resubmittedTxs)} re-sends, ${fmt(r.resignedTxs)} signed again); deepest rollback ${fmt(r.deepestRollback)} blocks |`,
  `| \`reliability.lostRecords\` | ${fmt(r.lostRecords)} | 0 | ${met(r.lostRecords === undefined ? undefined : num(r.lostRecords) === 0)} | of ${fmt(r.writesAcknowledged)} acknowledged writes; duplicated ${fmt(r.duplicatedRecords)}, hash mismatches ${fmt(r.hashMismatches)}, client ≠ resync ${fmt(r.clientResyncMismatches)}, reads after a revoke ${fmt(r.lateGrantReads)} |`,
  `| \`ml.heartAuc\` | ${fmt(m.heartAuc, 3)} | ≥ ${ML_TABULAR_TARGETS.heartAuc} | ${met(num(m.heartAuc) >= ML_TABULAR_TARGETS.heartAuc)} | Cleveland, stratified 5-fold CV × 3, ridge logistic regression; published logistic regression ≈ 0.90 |`,
  `| \`ml.heartAcc\` | ${fmt(m.heartAcc, 3)} | ≥ ${ML_TABULAR_TARGETS.heartAcc} | ${met(num(m.heartAcc) >= ML_TABULAR_TARGETS.heartAcc)} | Brier ${fmt(m.heartBrier, 3)} |`,
  `| \`ml.wdbcAuc\` | ${fmt(m.wdbcAuc, 4)} | ≥ ${ML_TABULAR_TARGETS.wdbcAuc} | ${met(num(m.wdbcAuc) >= ML_TABULAR_TARGETS.wdbcAuc)} | accuracy ${fmt(m.wdbcAcc, 3)} (target ≥ ${ML_TABULAR_TARGETS.wdbcAcc}) |`,
  `| \`ml.fedAuc\` | ${fmt(m.fedAuc, 4)} | within 0.01 of pooled | ${met(Math.abs(num(m.fedAuc) - num(m.pooledAuc)) <= 0.01)} | \`ml.pooledAuc\` ${fmt(m.pooledAuc, 4)} (centralised, same rows); 4 UCI hospitals, ${fmt(m.fedRounds)} rounds |`,
  `| \`ml.federatedStores.fedAuc\` | ${fmt(fs.fedAuc, 4)} | within 0.01 of pooled | ${met(Math.abs(num(fs.fedAuc) - num(fs.pooledAuc)) <= 0.01)} | the same through 4 stores + gatekeepers, all 920 rows as FHIR; pooled ${fmt(fs.pooledAuc, 4)}; each of ${fmt(fs.fedRounds)} rounds recorded on chain |`,
  `| \`ml.knnTop10Ms\` | ${fmt(m.knnTop10Ms, 2)} | ≤ ${ML_TABULAR_TARGETS.knnTop10Ms} | ${met(num(m.knnTop10Ms) <= ML_TABULAR_TARGETS.knnTop10Ms)} | exact top-10 over ${fmt(m.knnPatients)} patients; p95 ${fmt(m.knnTop10P95Ms, 1)} ms |`,
  `| \`ml.outbreak\` flu MAE h=2 / h=4 | ${fmt(o.fluArimaMae2, 1)} / ${fmt(o.fluArimaMae4, 1)} | reported | | naive ${fmt(o.fluNaiveMae2, 1)} / ${fmt(o.fluNaiveMae4, 1)}, seasonal naive ${fmt(o.fluSeasonalMae2, 1)} / ${fmt(o.fluSeasonalMae4, 1)} |`,
  `| \`ml.outbreak\` Salmonella MAE h=2 / h=4 | ${fmt(o.salArimaMae2, 2)} / ${fmt(o.salArimaMae4, 2)} | reported | | naive ${fmt(o.salNaiveMae2, 2)} / ${fmt(o.salNaiveMae4, 2)}, seasonal naive ${fmt(o.salSeasonalMae2, 2)} / ${fmt(o.salSeasonalMae4, 2)} |`,
  `| \`ml.imageAuc\` | ${fmt(m.imageAuc, 4)} | ≥ 0.91 | ${met(num(m.imageAuc) >= 0.91)} | PneumoniaMNIST test split, small CNN (tfjs, wasm); published ResNet-18 ${fmt(m.imageBaselineAuc, 3)} |`,
  `| \`ml.docMacroF1\` | ${fmt(m.docMacroF1, 3)} | reported | | medical abstracts, TF-IDF + logistic, 5-fold; majority class ${fmt(m.docMajorityF1, 3)}, bag-of-words naive Bayes ${fmt(m.docBowF1, 3)} |`,
  `| \`ml.alertSensitivity\` | ${fmt(m.alertSensitivity, 2)} | reported | | Farrington-style, Salmonella, injected outbreaks of ${fmt(o.alertOutbreakSizeSd)} sd; ${fmt(m.falseAlarmsPerYear, 2)} false alarms/year (\`ml.falseAlarmsPerYear\`) |`,
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
