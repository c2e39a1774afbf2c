/**
 * The public-health API of the manager: the surveillance series available (conditions × regions),
 * and one series' weekly counts with forecasts 1–4 weeks ahead (ARIMA, naive, seasonal naive, each
 * with 80 % and 95 % prediction intervals) and aberration alerts with what fired
 * (src/ml/outbreak-report.ts). Only aggregates are behind it: providers' weekly counts with small
 * cells suppressed, and published reference series.
 *
 *   GET /api/outbreak/series
 *   GET /api/outbreak/forecast?condition=salmonellosis&region=UK&horizon=4
 *
 * Errors are `{ error }` with 400 (a missing or malformed parameter) or 404 (no such series).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { loadArima } from '../ml/arima.js';
import { MAX_HORIZON, outbreakReport, type OutbreakReport } from '../ml/outbreak-report.js';
import { findSeries, type SurveillanceSeries } from '../ml/surveillance.js';

export interface OutbreakSource {
  /** Every series available now, and the providers that could not be asked. */
  series(): Promise<{ series: SurveillanceSeries[]; failed: string[] }>;
}

/** Reports kept, newest last: a forecast takes a second or two and the counts change weekly. */
const CACHED_REPORTS = 32;

/** The series of a list request: what each is, not its counts. */
function summary(s: SurveillanceSeries) {
  return {
    condition: s.condition,
    region: s.region,
    label: s.label,
    source: s.source,
    ...(s.citation ? { citation: s.citation } : {}),
    ...(s.providers !== undefined ? { providers: s.providers } : {}),
    weeks: s.weeks.length,
    first: s.weeks[0],
    last: s.weeks.at(-1),
    suppressedWeeks: s.suppressed.filter(Boolean).length,
  };
}

/** Finds the series a forecast request names, or answers the 400/404 itself. */
function seriesFor(all: SurveillanceSeries[], query: Record<string, string | undefined>, reply: FastifyReply): { series: SurveillanceSeries; horizon: number } | undefined {
  const { condition, region, horizon = String(MAX_HORIZON) } = query;
  if (!condition || !region) return void reply.code(400).send({ error: 'give condition and region, e.g. ?condition=salmonellosis&region=UK (GET /api/outbreak/series lists them)' });
  if (!/^[1-9]$/.test(horizon) || Number(horizon) > MAX_HORIZON) return void reply.code(400).send({ error: `horizon must be a whole number of weeks from 1 to ${MAX_HORIZON}` });
  try {
    return { series: findSeries(all, condition, region), horizon: Number(horizon) };
  } catch (err) {
    return void reply.code(404).send({ error: (err as Error).message });
  }
}

export function registerOutbreakRoutes(app: FastifyInstance, source: OutbreakSource | undefined): void {
  const reports = new Map<string, OutbreakReport>();
  const none = (reply: FastifyReply) => reply.code(404).send({ error: 'this manager has no surveillance series' });

  app.get('/api/outbreak/series', async (_req, reply) => {
    if (!source) return none(reply);
    const { series, failed } = await source.series();
    return { series: series.map(summary), failed };
  });

  app.get('/api/outbreak/forecast', async (req, reply) => {
    if (!source) return none(reply);
    const found = seriesFor((await source.series()).series, req.query as Record<string, string | undefined>, reply);
    if (!found) return reply;
    const key = JSON.stringify([found.series.condition, found.series.region, found.horizon, found.series.weeks.at(-1), found.series.counts]);
    let report = reports.get(key);
    if (!report) {
      report = outbreakReport(await loadArima(), found.series, found.horizon);
      if (reports.size >= CACHED_REPORTS) reports.delete(reports.keys().next().value as string);
      reports.set(key, report);
    }
    return report;
  });
}
