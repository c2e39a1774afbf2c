/**
 * The CapabilityStatement served at /metadata (https://hl7.org/fhir/R4/capabilitystatement.html),
 * told from what this server really has: each interaction and operation is listed only when its
 * route is registered (Fastify's hasRoute), the search parameters are the ones search.ts accepts per
 * type, `_include`/`_revinclude` the ones search-plan.ts serves, and `rest.security` names the SMART
 * endpoints (https://hl7.org/fhir/smart-app-launch/conformance.html#using-cors-and-the-capabilitystatement)
 * only when the token endpoint exists.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { getSearchParameters } from '@medplum/core';
import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import { hasColumn } from '../../records/extract.js';
import { SUPPORTED_TYPES, type SupportedType } from '../../records/fhir.js';
import { filterParams, sortKeys } from '../../records/search.js';
import { smartConfiguration } from '../smart/routes.js';
import { fhirBaseUrl } from './base-url.js';
import { FHIR_BASE as FHIR, type GatekeeperContext } from './context.js';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Type-level interactions (https://hl7.org/fhir/R4/valueset-type-restful-interaction.html) and the route each needs. */
const TYPE_INTERACTIONS: [code: string, method: Method, url: string][] = [
  ['read', 'GET', `${FHIR}/:type/:id`],
  ['vread', 'GET', `${FHIR}/:type/:id/_history/:vid`],
  ['update', 'PUT', `${FHIR}/:type/:id`],
  ['patch', 'PATCH', `${FHIR}/:type/:id`],
  ['delete', 'DELETE', `${FHIR}/:type/:id`],
  ['history-instance', 'GET', `${FHIR}/:type/:id/_history`],
  ['history-type', 'GET', `${FHIR}/:type/_history`],
  ['create', 'POST', `${FHIR}/:type`],
  ['search-type', 'GET', `${FHIR}/:type`],
];

/**
 * Operations, their definitions, the type they are on (none: system level) and the route each needs
 * (Bulk Data: https://hl7.org/fhir/uv/bulkdata/export.html).
 */
const OPERATIONS: [name: string, definition: string, type: string | undefined, method: Method, url: string][] = [
  ['everything', 'http://hl7.org/fhir/OperationDefinition/Patient-everything', 'Patient', 'GET', `${FHIR}/Patient/:id/$everything`],
  // MedLedger's own: the patient's records against the data hashes on chain (operations.ts).
  ['verify', 'urn:medledger:OperationDefinition:Patient-verify', 'Patient', 'GET', `${FHIR}/Patient/:id/$verify`],
  ['export', 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export', 'Patient', 'GET', `${FHIR}/Patient/$export`],
  ['export', 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export', 'Group', 'GET', `${FHIR}/Group/:id/$export`],
  ['export', 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export', undefined, 'GET', `${FHIR}/$export`],
];

/** The operations whose route exists, on `type` (undefined: system level). */
const operationsOn = (has: (method: Method, url: string) => boolean, type: string | undefined) =>
  OPERATIONS.filter(([, , on, method, url]) => on === type && has(method, url)).map(([name, definition]) => ({ name, definition }));

const DATE_PARAMS = new Set(['date', '_lastUpdated']);
const REFERENCE_PARAMS = new Set(['patient', 'subject']);

const RESULT_PARAMETERS =
  `Result parameters: _count, _offset, _sort (${sortKeys().join(', ')}), _total, _summary, _elements, _include, _revinclude. ` +
  'Chains: patient.X and subject[:Patient].X for any parameter Patient supports. Strict by default; Prefer: handling=lenient ignores unknown parameters.';

/** Computed once per server: its routes do not change once it is listening. */
const resourcesOf = new WeakMap<FastifyInstance, CapabilityStatementRestResource[]>();

export function capabilityStatement(app: FastifyInstance, gk: GatekeeperContext, req: FastifyRequest): CapabilityStatement {
  const has = (method: Method, url: string) => app.hasRoute({ method, url });
  let resource = resourcesOf.get(app);
  if (!resource) resourcesOf.set(app, (resource = resources(has)));
  const system = [...(has('POST', FHIR) ? [{ code: 'transaction' as const }, { code: 'batch' as const }] : [])];
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2026-12-07',
    kind: 'instance',
    fhirVersion: '4.0.1',
    format: ['json', 'application/fhir+json'],
    software: { name: 'MedLedger Gatekeeper' },
    implementation: { description: 'A MedLedger provider gatekeeper: every read is decided by on-chain grants', url: fhirBaseUrl(req) },
    rest: [
      {
        mode: 'server',
        documentation: RESULT_PARAMETERS,
        security: security(app, gk, req),
        resource,
        ...(system.length ? { interaction: system } : {}),
        ...(operationsOn(has, undefined).length ? { operation: operationsOn(has, undefined) } : {}),
      },
    ],
  };
}

function resources(has: (method: Method, url: string) => boolean): CapabilityStatementRestResource[] {
  const interaction = TYPE_INTERACTIONS.filter(([, method, url]) => has(method, url)).map(([code]) => ({ code: code as 'read' }));
  const revIncludes = SUPPORTED_TYPES.flatMap((t) => (['patient', 'subject'] as const).filter((c) => hasColumn(t, c)).map((c) => `${t}:${c}`));
  // What write.ts does in the handlers of these routes: If-None-Exist on create, If-Match on update,
  // update as create with the client's id, conditional update/delete of one match (412 for several).
  const writes = {
    ...(has('GET', `${FHIR}/:type/:id/_history/:vid`) ? { readHistory: true } : {}),
    ...(has('PUT', `${FHIR}/:type/:id`) ? { updateCreate: true, versioning: 'versioned-update' as const } : {}),
    ...(has('POST', `${FHIR}/:type`) ? { conditionalCreate: true } : {}),
    ...(has('PUT', `${FHIR}/:type`) ? { conditionalUpdate: true } : {}),
    ...(has('DELETE', `${FHIR}/:type`) ? { conditionalDelete: 'single' as const } : {}),
  };
  return SUPPORTED_TYPES.map((type: SupportedType) => ({
    type,
    interaction,
    ...writes,
    searchParam: filterParams(type).map((name) => ({
      name,
      type: DATE_PARAMS.has(name) ? ('date' as const) : REFERENCE_PARAMS.has(name) ? ('reference' as const) : ('token' as const),
    })),
    searchInclude: Object.values(getSearchParameters(type) ?? {}).filter((p) => p.type === 'reference').map((p) => `${type}:${p.code}`),
    ...(type === 'Patient' ? { searchRevInclude: revIncludes } : {}),
    ...(operationsOn(has, type).length ? { operation: operationsOn(has, type) } : {}),
  }));
}

/** How to get in: signed requests and session tokens always; SMART when the token endpoint is there. */
function security(app: FastifyInstance, gk: GatekeeperContext, req: FastifyRequest): NonNullable<CapabilityStatement['rest']>[number]['security'] {
  const description =
    "Every request is signed with the requester's Ethereum key (EIP-712 over method, path, body hash, gatekeeper, chain, nonce, expiry), " +
    'or carries a session token from POST /auth/login or a SMART access token. What may be read is decided per request from the on-chain grants.';
  if (!app.hasRoute({ method: 'POST', url: '/smart/token' })) return { description };
  const smart = smartConfiguration(gk, req) as { authorization_endpoint?: string; token_endpoint: string };
  const uris = [
    { url: 'token', valueUri: smart.token_endpoint },
    ...(smart.authorization_endpoint ? [{ url: 'authorize', valueUri: smart.authorization_endpoint }] : []),
  ];
  return {
    description,
    cors: gk.corsOrigins !== undefined && gk.corsOrigins.length > 0,
    service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }] }],
    extension: [{ url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris', extension: uris }],
  };
}
