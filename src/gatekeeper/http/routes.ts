/**
 * The gatekeeper's route table: every authenticated route, its FHIR interaction (the audit's
 * AuditEvent.subtype, audit.ts) and its handler. Each goes through `audited` (audited.ts): authenticated,
 * decided, audited, answered. The one public route, /fhir/R4/metadata, is in server.ts.
 *
 * Static path segments win over parameters (Fastify's router), so `Patient/{id}/$verify` is never
 * taken for `{type}/{id}/…`, whatever the order below.
 */
import type { FastifyInstance } from 'fastify';
import { audited } from './audited.js';
import { FHIR_BASE as FHIR, type GatekeeperContext, type Handler } from './context.js';
import { linkRegistrarPatient, login, patientAuditTrail, verify } from './operations.js';
import { everything, historyInstance, read, searchType, vread } from './read.js';
import { evaluateStudy, roundKeys, roundMasked, roundShares, roundUnmask, studySiteStatus } from './research.js';
import { weeklyCases } from './surveillance.js';
import { create, update } from './write.js';

export interface Route {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  /** The FHIR interaction audited for it (https://hl7.org/fhir/R4/valueset-type-restful-interaction.html), or login/operation. */
  interaction: string;
  handler: Handler;
}

export const ROUTES: readonly Route[] = [
  { method: 'POST', url: '/auth/login', interaction: 'login', handler: login },
  { method: 'POST', url: '/registrar/link', interaction: 'operation', handler: linkRegistrarPatient },
  { method: 'GET', url: '/audit', interaction: 'search-type', handler: patientAuditTrail },
  { method: 'GET', url: '/surveillance/weekly-cases', interaction: 'operation', handler: weeklyCases },
  { method: 'GET', url: '/research/studies/:studyId', interaction: 'operation', handler: studySiteStatus },
  { method: 'POST', url: '/research/studies/:studyId/rounds/:round/keys', interaction: 'operation', handler: roundKeys },
  { method: 'POST', url: '/research/studies/:studyId/rounds/:round/shares', interaction: 'operation', handler: roundShares },
  { method: 'POST', url: '/research/studies/:studyId/rounds/:round/masked', interaction: 'operation', handler: roundMasked },
  { method: 'POST', url: '/research/studies/:studyId/rounds/:round/unmask', interaction: 'operation', handler: roundUnmask },
  { method: 'POST', url: '/research/studies/:studyId/evaluate', interaction: 'operation', handler: evaluateStudy },
  { method: 'GET', url: `${FHIR}/Patient/:id/$everything`, interaction: 'operation', handler: everything },
  { method: 'GET', url: `${FHIR}/Patient/:id/$verify`, interaction: 'operation', handler: verify },
  { method: 'GET', url: `${FHIR}/:type`, interaction: 'search-type', handler: searchType },
  { method: 'GET', url: `${FHIR}/:type/:id`, interaction: 'read', handler: read },
  { method: 'GET', url: `${FHIR}/:type/:id/_history`, interaction: 'history-instance', handler: historyInstance },
  { method: 'GET', url: `${FHIR}/:type/:id/_history/:vid`, interaction: 'vread', handler: vread },
  { method: 'POST', url: `${FHIR}/:type`, interaction: 'create', handler: create },
  { method: 'PUT', url: `${FHIR}/:type/:id`, interaction: 'update', handler: update },
];

/** Registers every route of ROUTES on `app`, each behind the audit wrapper. */
export function registerRoutes(app: FastifyInstance, gk: GatekeeperContext, routes: readonly Route[] = ROUTES): void {
  for (const { method, url, interaction, handler } of routes) app.route({ method, url, handler: audited(gk, interaction, handler) });
}
