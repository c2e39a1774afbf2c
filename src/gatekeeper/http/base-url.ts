/**
 * The absolute FHIR base of this gatekeeper as the client addressed it, for `fullUrl`, `Location` and
 * Bundle links (https://hl7.org/fhir/R4/bundle.html#bundle-unique: fullUrl is absolute; stock clients
 * follow `next` links as they are). Taken from the request's Host, so a client reaching the server by
 * another name still gets links it can follow; proxies' X-Forwarded-* are not trusted.
 */
import type { FastifyRequest } from 'fastify';
import { FHIR_BASE } from './context.js';

export function fhirBaseUrl(req: FastifyRequest): string {
  return `${req.protocol}://${req.host}${FHIR_BASE}`;
}
