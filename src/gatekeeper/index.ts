/**
 * The Database Gatekeeper's public entry: what a process that runs gatekeepers (`medledger gatekeeper`,
 * `medledger start`'s system) may use. Everything else under src/gatekeeper is internal to it; clients
 * speak to a gatekeeper over HTTP with src/protocol and src/sdk (rules in .dependency-cruiser.cjs).
 */
export { startGatekeeper, type GatekeeperOptions, type RunningGatekeeper } from './run.js';
export { addressOfPatient, linkPatient, publishPatient } from './publish/publish.js';
export { DEFAULT_PUBLISH_WINDOW_MS, type PublishOptions } from './publish/publisher.js';
export { POINTER_HEADERS } from './publish/freshness.js';
export type { Decision } from './audit/audit.js';
export type { SurveillanceReporting } from './http/context.js';
export type { SmartOptions } from './smart/authority.js';
export type { ResearchSite, StudySiteContext } from '../protocol/research/site.js';
