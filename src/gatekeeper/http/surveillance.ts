/**
 * GET /surveillance/weekly-cases?from=2024-W01&to=2024-W52: what a provider reports to a public-health
 * authority — weekly case counts per condition and region, counts 1–4 suppressed — and nothing else.
 *
 * - Who may ask: a signed request (or session token) from an address the provider reports to
 *   (SurveillanceReporting.authorities, set where the gatekeeper starts); anyone else gets 403, and a
 *   gatekeeper that reports to nobody 404. Every answer is audited like any other request.
 * - Who is counted: only patients with an active surveillance Consent here (src/consent/surveillance.ts);
 *   only their Patient and Condition resources are read from the store, and only to be counted.
 * - What leaves: the cells the injected count returns (src/ml/aggregate.ts: condition, region, ISO
 *   week, count or `<5`); no resource, identifier, date or patient count.
 */
import type { FastifyRequest } from 'fastify';
import type { Condition, Consent, Patient, Resource } from '@medplum/fhirtypes';
import { surveillanceConsenters } from '../../consent/surveillance.js';
import { MAX_COUNT } from '../../records/search.js';
import { sql, type Sql } from '../../records/sql.js';
import type { Answer, Ctx, GatekeeperContext } from './context.js';
import { GatekeeperError } from './outcomes.js';

const ISO_WEEK = /^\d{4}-W\d{2}$/;

/** Every `type` resource the filter lets through, page by page. */
async function readAll<T extends Resource>(gk: GatekeeperContext, type: string, filter?: Sql): Promise<T[]> {
  const all: T[] = [];
  for (let offset = 0; ; offset += MAX_COUNT) {
    const page = await gk.store.search<T>(type, `_count=${MAX_COUNT}&_offset=${offset}`, { filter });
    all.push(...page.resources);
    if (page.resources.length < MAX_COUNT) return all;
  }
}

/** GET /surveillance/weekly-cases */
export async function weeklyCases(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx): Promise<Answer> {
  const reporting = gk.surveillance;
  if (!reporting) throw new GatekeeperError(404, 'this provider reports surveillance counts to no public-health authority');
  if (!reporting.authorities.some((a) => a.toLowerCase() === ctx.address.toLowerCase())) {
    throw new GatekeeperError(403, `${ctx.address} is not a public-health authority this provider reports to`);
  }
  const { from, to } = req.query as { from?: string; to?: string };
  if (!from || !to || !ISO_WEEK.test(from) || !ISO_WEEK.test(to)) throw new GatekeeperError(400, 'give from and to as ISO weeks, e.g. from=2024-W01&to=2024-W52');

  const consenting = [...surveillanceConsenters(await readAll<Consent>(gk, 'Consent'), new Date())];
  const theirs = sql`patient_id = ANY(${consenting}::text[])`;
  const [patients, conditions] = consenting.length
    ? await Promise.all([readAll<Patient>(gk, 'Patient', theirs), readAll<Condition>(gk, 'Condition', theirs)])
    : [[], []];
  let cells: unknown[];
  try {
    cells = reporting.aggregate(conditions, patients, { from, to });
  } catch (err) {
    throw new GatekeeperError(400, (err as Error).message);
  }
  return { body: { provider: gk.provider, from, to, cells } };
}
