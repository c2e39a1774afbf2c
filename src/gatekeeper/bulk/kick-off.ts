/**
 * The kick-off request's parameters (https://hl7.org/fhir/uv/bulkdata/STU2/export.html#query-parameters):
 * `_type`, `_since` and `_outputFormat` (NDJSON only) are supported. Any other parameter is refused
 * with 400, unless the client sent `Prefer: handling=lenient`, which ignores it (and unknown types in
 * `_type`), as the specification asks.
 */
import type { FastifyRequest } from 'fastify';
import { isSupportedType } from '../../records/fhir.js';
import { GatekeeperError } from '../http/outcomes.js';

/** _outputFormat values meaning NDJSON (export.html#query-parameters). */
const NDJSON_FORMATS = ['application/fhir+ndjson', 'application/ndjson', 'ndjson'];
/** A FHIR instant (https://hl7.org/fhir/R4/datatypes.html#instant); seconds may be left out, as clients often do. */
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

export interface KickOff {
  /** `_type`, split on commas and in order, or undefined for every type. */
  types?: string[];
  since?: string;
}

/** The Prefer header's tokens, e.g. `respond-async`, `handling=lenient`. */
function preferences(req: FastifyRequest): string[] {
  const header = req.headers.prefer;
  return (Array.isArray(header) ? header.join(',') : (header ?? '')).split(/[,;]/).map((p) => p.trim().toLowerCase());
}

/** Reads and checks a kick-off request; throws 400 for what this server cannot honour. */
export function parseKickOff(req: FastifyRequest): KickOff {
  const prefer = preferences(req);
  if (!prefer.includes('respond-async')) throw new GatekeeperError(400, 'a bulk export needs the header Prefer: respond-async');
  const lenient = prefer.includes('handling=lenient');
  const query = new URLSearchParams(req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '');
  const result: KickOff = {};
  for (const [name, value] of query) {
    if (name === '_type') {
      const types = value.split(',').map((t) => t.trim()).filter(Boolean);
      const unknown = types.find((t) => !isSupportedType(t));
      if (unknown && !lenient) throw new GatekeeperError(400, `_type: ${JSON.stringify(unknown)} is not a resource type this server holds`);
      result.types = [...new Set([...(result.types ?? []), ...types.filter((t) => isSupportedType(t))])];
    } else if (name === '_since') {
      if (!INSTANT.test(value) || Number.isNaN(Date.parse(value))) throw new GatekeeperError(400, `_since must be a FHIR instant such as 2024-01-01T00:00:00Z, not ${JSON.stringify(value)}`);
      result.since = new Date(value).toISOString();
    } else if (name === '_outputFormat') {
      if (!NDJSON_FORMATS.includes(value)) throw new GatekeeperError(400, `_outputFormat ${JSON.stringify(value)} is not supported; use application/fhir+ndjson`);
    } else if (!lenient) {
      throw new GatekeeperError(400, `the export parameter ${JSON.stringify(name)} is not supported (send Prefer: handling=lenient to ignore it)`);
    }
  }
  if (result.types?.length === 0) throw new GatekeeperError(400, '_type names no resource type this server holds');
  return result;
}
