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
import { everything, historyInstance, read, vread } from './read.js';
import { searchType, searchTypePost } from './search.js';
import { evaluateStudy, roundKeys, roundMasked, roundShares, roundUnmask, studySiteStatus } from './research.js';
import { weeklyCases } from './surveillance.js';
import { deleteExport, exportFile, exportGroup, exportPatients, exportStatus } from '../bulk/handlers.js';
import { conditionalDelete, conditionalPatch, conditionalUpdate, create, patch, remove, update } from './write.js';
import { historyType } from './history.js';
import { transactionOrBatch } from './transaction.js';

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
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
  // Bulk Data export (bulk/handlers.ts): kick-off, status, cancel, files.
  { method: 'GET', url: `${FHIR}/Patient/$export`, interaction: 'operation', handler: exportPatients },
  { method: 'GET', url: `${FHIR}/Group/:id/$export`, interaction: 'operation', handler: exportGroup },
  { method: 'GET', url: `${FHIR}/$export-status/:job`, interaction: 'operation', handler: exportStatus },
  { method: 'DELETE', url: `${FHIR}/$export-status/:job`, interaction: 'operation', handler: deleteExport },
  { method: 'GET', url: `${FHIR}/$export-file/:job/:file`, interaction: 'operation', handler: exportFile },
  { method: 'GET', url: `${FHIR}/:type`, interaction: 'search-type', handler: searchType },
  { method: 'POST', url: `${FHIR}/:type/_search`, interaction: 'search-type', handler: searchTypePost },
  { method: 'GET', url: `${FHIR}/:type/:id`, interaction: 'read', handler: read },
  { method: 'GET', url: `${FHIR}/:type/:id/_history`, interaction: 'history-instance', handler: historyInstance },
  { method: 'GET', url: `${FHIR}/:type/:id/_history/:vid`, interaction: 'vread', handler: vread },
  { method: 'POST', url: `${FHIR}/:type`, interaction: 'create', handler: create },
  { method: 'PUT', url: `${FHIR}/:type/:id`, interaction: 'update', handler: update },
  // Writes (write.ts, transaction.ts): conditional forms carry their search in the query string.
  { method: 'POST', url: FHIR, interaction: 'transaction', handler: transactionOrBatch },
  { method: 'POST', url: `${FHIR}/`, interaction: 'transaction', handler: transactionOrBatch }, // the base as clients write it
  { method: 'PUT', url: `${FHIR}/:type`, interaction: 'update', handler: conditionalUpdate },
  { method: 'PATCH', url: `${FHIR}/:type/:id`, interaction: 'patch', handler: patch },
  { method: 'PATCH', url: `${FHIR}/:type`, interaction: 'patch', handler: conditionalPatch },
  { method: 'DELETE', url: `${FHIR}/:type/:id`, interaction: 'delete', handler: remove },
  { method: 'DELETE', url: `${FHIR}/:type`, interaction: 'delete', handler: conditionalDelete },
  { method: 'GET', url: `${FHIR}/:type/_history`, interaction: 'history-type', handler: historyType },
];

/** Registers every route of ROUTES on `app`, each behind the audit wrapper. */
export function registerRoutes(app: FastifyInstance, gk: GatekeeperContext, routes: readonly Route[] = ROUTES): void {
  for (const { method, url, interaction, handler } of routes) app.route({ method, url, handler: audited(gk, interaction, handler) });
}
