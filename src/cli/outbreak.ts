/**
 * `medledger outbreak series|forecast`: the public-health view on the command line. The forecast is
 * computed here, in the reader's own process (src/ml/outbreak-report.ts), on the real reference
 * series (data/outbreaks) and, with `--as <public-health user>`, on the weekly counts providers
 * report to that user (signed requests, counts 1–4 suppressed): the gatekeepers named with
 * `--gatekeeper provider=url`, else those of the `medledger start` running on this data directory.
 * A table by default, `--json` for scripts. Registered on the program by main.ts.
 */
import type { Command } from 'commander';
import type { LedgerClient } from '../chain/client.js';
import type { Config } from '../config.js';
import { loadUsers, resolveAddress } from '../keys/users.js';
import { announcedGatekeepers } from '../manager/gatekeeper-directory.js';
import { loadArima } from '../ml/arima.js';
import { FORECAST_METHODS, MAX_HORIZON, outbreakReport, type OutbreakReport } from '../ml/outbreak-report.js';
import { collectWeeklyCases, combineReports, findSeries, lastWeeks, referenceSeries, type SurveillanceSeries } from '../ml/surveillance.js';
import { gatekeeperClient } from '../sdk/gatekeeper.js';
import { parseGatekeeperSpec } from './parse.js';
import type { PeopleFormat } from './summary-format.js';

type WithLedger = <T>(fn: (ctx: { cfg: Config; me: LedgerClient }) => Promise<T>) => Promise<T>;

export interface OutbreakCommandDeps {
  program: Command;
  withLedger: WithLedger;
  /** JSON with --json; else `forPeople`, or a generic table (main.ts). */
  print: (value: unknown, forPeople?: (f: PeopleFormat) => string) => void;
  /** The configuration the global options select (main.ts). */
  config: () => Config;
}

interface SourceOptions {
  gatekeeper?: string[];
  weeks: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/**
 * The reference series, plus what providers' gatekeepers report to --as: those named with
 * --gatekeeper, else, with --as, those of a `medledger start` running on this data directory.
 */
async function seriesFrom(opts: SourceOptions, { program, withLedger, config }: OutbreakCommandDeps): Promise<{ series: SurveillanceSeries[]; failed: string[] }> {
  const reference = referenceSeries();
  const { as } = program.opts<{ as?: string }>();
  const named = (opts.gatekeeper ?? []).map((spec) => {
    const { provider: name, url } = parseGatekeeperSpec(spec);
    return { name, url };
  });
  if (named.length && !as) throw new Error('asking providers for their counts needs --as <public-health user>');
  if (!as) return { series: reference, failed: [] };
  const weeks = Number(opts.weeks);
  if (!Number.isInteger(weeks) || weeks < 1 || weeks > 522) throw new Error('--weeks must be a whole number from 1 to 522');
  const running = named.length ? [] : [...announcedGatekeepers(config().dataDir)];
  if (!named.length && !running.length) return { series: reference, failed: [] };
  return withLedger(async ({ cfg, me }) => {
    const targets = named.length
      ? named.map(({ name, url }) => ({ name, url, provider: resolveAddress(cfg.dataDir, name) }))
      : running.map(([provider, url]) => ({ name: loadUsers(cfg.dataDir).find((u) => u.address.toLowerCase() === provider.toLowerCase())?.name ?? provider, url, provider }));
    const providers = targets.map(({ name, url, provider }) => ({ name, client: gatekeeperClient({ url, gatekeeper: provider, chainId: me.chainId, account: me.account! }) }));
    const { reports, failed } = await collectWeeklyCases(providers, lastWeeks(new Date(), weeks));
    return { series: [...combineReports(reports), ...reference], failed };
  });
}

const num = (v: number | undefined) => (v === undefined ? '—' : Number.isInteger(v) ? String(v) : v < 10 ? v.toFixed(1) : v.toFixed(0));
const pad = (text: string, width: number) => text.padEnd(width);

/** The human-readable report: the series, the last weeks, each method's forecast with its bands, recent alerts. */
export function reportTable(r: OutbreakReport): string {
  const lines = [`${r.label} (${r.condition}, ${r.region})`];
  if (r.citation) lines.push(`source: ${r.citation}`);
  const recent = r.weeks.slice(-6).map((w, i) => `${w} ${num(r.counts[r.counts.length - 6 + i])}${r.suppressed[r.suppressed.length - 6 + i] ? ' (1–4, suppressed)' : ''}`);
  lines.push(`last weeks: ${recent.join(', ')}`, '');
  lines.push(`${pad('week', 10)}${FORECAST_METHODS.map((m) => pad(`${m}: forecast [80 %] [95 %]`, 34)).join('')}`);
  r.forecastWeeks.forEach((week, h) => {
    const cells = FORECAST_METHODS.map((m) => {
      const b = r.forecasts[m];
      return pad(b ? `${num(b.mean[h])} [${num(b.lower80[h])}–${num(b.upper80[h])}] [${num(b.lower95[h])}–${num(b.upper95[h])}]` : 'n/a', 34);
    });
    lines.push(`${pad(week, 10)}${cells.join('')}`);
  });
  for (const [method, why] of Object.entries(r.unavailable)) lines.push(`${method}: n/a — ${why}`);
  if (r.arima) lines.push(`ARIMA ${JSON.stringify(r.arima.spec.order)} on ${r.arima.spec.transform}; fell back to naive in ${r.arima.fallbacks} of ${r.arima.fits} fits`);
  lines.push(`intervals: ${r.intervals.method}, over the last ${r.intervals.calibrationWeeks} weeks`);
  const alerts = r.alerts.filter((a) => a.index >= r.counts.length - 52);
  lines.push('', alerts.length ? `alerts in the last 52 weeks (${r.alerts.length} in all):` : `no alerts in the last 52 weeks (${r.alerts.length} in all)`);
  for (const a of alerts) lines.push(`  ${a.week}  ${a.why}`);
  return lines.join('\n');
}

export function addOutbreakCommands(deps: OutbreakCommandDeps): void {
  const { program, print } = deps;
  const outbreak = program.command('outbreak').description('public-health surveillance: weekly counts, forecasts with prediction intervals, aberration alerts');
  const sources = (c: Command) =>
    c
      .option('--gatekeeper <provider=url>', "ask this provider's gatekeeper for the weekly counts it reports to you (--as a public-health user; default: the running system's gatekeepers); repeatable", collect)
      .option('--weeks <n>', 'weeks of provider counts, up to this week', '156');

  sources(outbreak.command('series').description('the series available: conditions × regions').option('--json', 'JSON for scripts')).action(async (opts: SourceOptions & { json?: boolean }) => {
    const { series, failed } = await seriesFrom(opts, deps);
    const rows = series.map((s) => ({ condition: s.condition, region: s.region, source: s.source, weeks: s.weeks.length, first: s.weeks[0], last: s.weeks.at(-1), label: s.label }));
    if (opts.json) return print({ series: rows, failed });
    for (const r of rows) console.log(`${pad(r.condition, 28)}${pad(r.region, 8)}${pad(r.source, 11)}${pad(`${r.weeks} weeks`, 11)}${r.label}`);
    for (const f of failed) console.error(`not reported: ${f}`);
  });

  sources(
    outbreak
      .command('forecast')
      .description('forecast a series 1–4 weeks ahead with 80 % and 95 % prediction intervals (ARIMA, naive, seasonal naive) and list its alerts')
      .requiredOption('--condition <condition>', 'e.g. salmonellosis (see `outbreak series`)')
      .requiredOption('--region <region>', 'e.g. UK')
      .option('--horizon <weeks>', `weeks ahead, 1 to ${MAX_HORIZON}`, String(MAX_HORIZON))
      .option('--json', 'the whole report as JSON'),
  ).action(async (opts: SourceOptions & { condition: string; region: string; horizon: string; json?: boolean }) => {
    if (!new RegExp(`^[1-${MAX_HORIZON}]$`).test(opts.horizon)) throw new Error(`--horizon must be a whole number of weeks from 1 to ${MAX_HORIZON}`);
    const { series, failed } = await seriesFrom(opts, deps);
    for (const f of failed) console.error(`not reported: ${f}`);
    const report = outbreakReport(await loadArima(), findSeries(series, opts.condition, opts.region), Number(opts.horizon));
    if (opts.json) print(report);
    else console.log(reportTable(report));
  });
}
