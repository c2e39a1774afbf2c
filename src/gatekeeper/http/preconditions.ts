/**
 * The headers of FHIR's version-aware REST (https://hl7.org/fhir/R4/http.html#versioning,
 * http.html#concurrency, http.html#ops): `ETag: W/"versionId"` and `Last-Modified` on every resource
 * answered, `Location` on a create, `If-Match` for optimistic locking (412 on a stale version), and
 * `Prefer: return=minimal | representation | OperationOutcome` for what a write answers.
 */
import type { FastifyRequest } from 'fastify';
import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import { fhirBaseUrl } from './base-url.js';
import type { Answer } from './context.js';
import { GatekeeperError } from './outcomes.js';

/** `W/"3"` for versionId 3 (http.html#versioning: weak, the versionId in quotes). */
export const etagOf = (resource: Resource): string => `W/"${resource.meta?.versionId ?? ''}"`;

/** ETag and Last-Modified (an HTTP date) of one stored resource. */
export function versionHeaders(resource: Resource): Record<string, string> {
  const headers: Record<string, string> = { etag: etagOf(resource) };
  if (resource.meta?.lastUpdated) headers['last-modified'] = new Date(resource.meta.lastUpdated).toUTCString();
  return headers;
}

/** The version an `If-Match` header asks for (`W/"3"` or `3`), or undefined when there is none. */
export function ifMatchOf(req: FastifyRequest): string | undefined {
  const value = req.headers['if-match'];
  if (value === undefined) return undefined;
  const version = /^(?:W\/)?"?([1-9]\d{0,8})"?$/.exec(String(value).trim())?.[1];
  if (!version) throw new GatekeeperError(412, `If-Match ${JSON.stringify(String(value).slice(0, 40))} names no version of this resource`);
  return version;
}

export type ReturnPreference = 'minimal' | 'representation' | 'OperationOutcome';

/** What `Prefer: return=…` asks a write to answer; representation when absent (https://hl7.org/fhir/R4/http.html#ops). */
export function returnPreference(req: FastifyRequest): ReturnPreference {
  const prefer = String(req.headers.prefer ?? '');
  const value = /(?:^|[;,\s])return=([A-Za-z]+)/.exec(prefer)?.[1];
  return value === 'minimal' || value === 'OperationOutcome' ? value : 'representation';
}

/** A short informational OperationOutcome (`Prefer: return=OperationOutcome`). */
export function information(diagnostics: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational', diagnostics }] };
}

/**
 * The answer to a write that stored (or found) `resource`: its version headers, Location on 201,
 * and the body `Prefer` asks for. `resources` still lists it, so the audit files it under its patient.
 */
export function writeAnswer(req: FastifyRequest, resource: Resource, status: 200 | 201, what: string): Answer {
  const headers = versionHeaders(resource);
  if (status === 201) headers.location = `${fhirBaseUrl(req)}/${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId}`;
  const prefer = returnPreference(req);
  const body = prefer === 'representation' ? resource : prefer === 'OperationOutcome' ? information(`${what} ${resource.resourceType}/${resource.id}`) : '';
  return { body, resources: [resource], status, headers };
}
