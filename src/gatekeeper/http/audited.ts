/**
 * The audit wrapper every authenticated route goes through: authenticate, run the handler, record the
 * decision (permit or deny) as AuditEvents, and answer FHIR JSON — a refusal as an OperationOutcome.
 *
 * One AuditEvent per patient the decision concerns, filed under that patient so it shows in their
 * "who read my data" (audit.ts); a decision that concerns nobody known is one event without a patient.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { hashResultSet, type ResourceLike } from '../../records/hash.js';
import { HEADERS } from '../../protocol/headers.js';
import { authenticate } from '../auth/authenticate.js';
import { BreakGlassRefusal } from '../auth/break-glass.js';
import { formerGrantors, patientIdOf } from '../auth/requester.js';
import type { Answer, Ctx, GatekeeperContext, Handler } from './context.js';
import { toOutcome } from './outcomes.js';

/** The Fastify handler of one authenticated, audited route. */
export function audited(gk: GatekeeperContext, interaction: string, handler: Handler) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    let ctx: Ctx | undefined;
    try {
      ctx = await authenticate(req, gk);
      const answer = await handler(gk, req, ctx);
      await auditPermit(gk, req, interaction, ctx, answer);
      if (answer.resources) reply.header(HEADERS.dataHash, answer.dataHash ?? hashResultSet(answer.resources as ResourceLike[]));
      reply.code(answer.status ?? 200).type('application/fhir+json');
      if (answer.headers) reply.headers(answer.headers);
      // A read whose version the client already holds (If-None-Match: its ETag): 304, no body (https://hl7.org/fhir/R4/http.html#cread).
      if (req.method === 'GET' && answer.headers?.etag && req.headers['if-none-match'] === answer.headers.etag) return reply.code(304).send();
      return reply.send(answer.body);
    } catch (err) {
      const { status, body } = toOutcome(err);
      // A refusal whose audit fails is still answered (the refusal itself is what protects the data).
      await auditDenial(gk, req, interaction, ctx, err, status, body.issue?.[0]?.diagnostics).catch(() => undefined);
      return reply.code(status).type('application/fhir+json').send(body);
    }
  };
}

/** Records a permitted request: one event per patient whose resources it disclosed. */
async function auditPermit(gk: GatekeeperContext, req: FastifyRequest, interaction: string, ctx: Ctx, answer: Answer): Promise<void> {
  const patients = new Set<string>();
  for (const r of answer.resources ?? []) {
    const p = gk.patientOf(r);
    if (p) patients.add(p);
  }
  // A break-glass read that found nothing is still filed under the patient: it cannot be hidden from them.
  if (patients.size === 0) patients.add(ctx.patientId ?? ctx.emergency?.patientId ?? '');
  const status = answer.status ?? 200;
  const events: Promise<void>[] = [];
  for (const patientId of patients) {
    const breakGlass = patientId && ctx.emergency?.patientId === patientId ? ctx.emergency.reason : undefined;
    events.push(gk.audit({ requester: ctx.address, interaction, method: req.method, path: req.url, patientId: patientId || undefined, permitted: true, status, breakGlass }));
  }
  // One event is the common case: no Promise.all for it (this runs on every read).
  await (events.length === 1 ? events[0] : Promise.all(events));
}

/** Records a refused request, under each patient it concerns (refusedPatients). */
async function auditDenial(gk: GatekeeperContext, req: FastifyRequest, interaction: string, ctx: Ctx | undefined, err: unknown, status: number, reason: string | undefined) {
  const refusal = err instanceof BreakGlassRefusal ? err : undefined;
  const patients = await refusedPatients(gk, req, ctx, refusal);
  await Promise.all(
    patients.map((p) =>
      gk.audit({
        requester: ctx?.address ?? refusal?.requester,
        interaction,
        method: req.method,
        path: req.url,
        patientId: p,
        permitted: false,
        status,
        reason,
        breakGlass: p && ctx?.emergency?.patientId === p ? ctx.emergency.reason : undefined,
      }),
    ),
  );
}

/**
 * Whose trail a refusal is filed under: the first of these that is known —
 * 1. the requester themself, when they are a patient here; or the patient of their open break-glass;
 * 2. the patient a refused break-glass statement named on chain;
 * 3. the Patient the request's URL names (`/fhir/R4/Patient/{id}/…`).
 * A viewer refused with none of these is filed under everyone who once granted them anything here,
 * so a patient sees that someone they shared with tried again after the revoke. Otherwise: nobody.
 */
async function refusedPatients(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx | undefined, refusal: BreakGlassRefusal | undefined): Promise<(string | undefined)[]> {
  let patientId = ctx?.patientId ?? ctx?.emergency?.patientId;
  if (patientId === undefined && refusal?.patient) patientId = await patientIdOf(gk.store, refusal.patient).catch(() => undefined);
  if (patientId === undefined && req.url.includes('/Patient/')) patientId = (req.params as { id?: string }).id;
  if (patientId || ctx?.requester.role !== 'viewer') return [patientId];
  const grantors = await formerGrantors(gk.store, gk.ledger, gk.provider, ctx.address).catch(() => []);
  return grantors.length ? grantors : [undefined];
}
