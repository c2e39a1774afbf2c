/**
 * The CapabilityStatement served at /metadata (https://hl7.org/fhir/R4/capabilitystatement.html).
 */
import type { CapabilityStatement } from '@medplum/fhirtypes';
import { SUPPORTED_TYPES } from '../../records/fhir.js';

const SEARCH_PARAMS = ['_id', '_lastUpdated', '_security', 'patient', 'subject', 'code', 'category', 'status', 'date', '_count', '_offset', '_sort'];

export function capabilityStatement(): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2026-11-26',
    kind: 'instance',
    fhirVersion: '4.0.1',
    format: ['application/fhir+json'],
    software: { name: 'MedLedger Gatekeeper' },
    rest: [
      {
        mode: 'server',
        security: {
          description:
            'Every request is signed with the requester\'s Ethereum key (EIP-712 over method, path, body hash, gatekeeper, chain, nonce, expiry) or carries a session token from POST /auth/login. Access is read from the MedLedger contract.',
        },
        resource: SUPPORTED_TYPES.map((type) => ({
          type,
          interaction: [{ code: 'read' }, { code: 'vread' }, { code: 'history-instance' }, { code: 'search-type' }],
          searchParam: SEARCH_PARAMS.map((name) => ({ name, type: name === 'date' || name === '_lastUpdated' ? 'date' : name === 'patient' || name === 'subject' ? 'reference' : 'token' })),
        })),
        operation: [{ name: 'everything', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything' }],
      },
    ],
  };
}
