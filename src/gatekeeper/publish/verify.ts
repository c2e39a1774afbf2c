/**
 * Integrity check: recompute each pointer's data hash from the store and compare it with the hash on
 * chain. A record changed behind the gatekeeper's back (directly in the database) shows as a mismatch.
 */
import type { Parameters, Patient } from '@medplum/fhirtypes';
import type { Address } from 'viem';
import type { LedgerClient } from '../../chain/client.js';
import { hashResultSet, type ResourceLike } from '../../records/hash.js';
import type { RecordStore } from '../../records/store.js';
import { GatekeeperError } from '../http/outcomes.js';
import { addressOfPatient, currentPointers } from './publish.js';

export async function verifyPointers(store: RecordStore, ledger: LedgerClient, provider: Address, patientId: string): Promise<Parameters> {
  const address = addressOfPatient((await store.read('Patient', patientId)) as Patient);
  if (!address) throw new GatekeeperError(404, `Patient/${patientId} is not linked to a chain address`);
  const pointers = await Promise.all(
    (await currentPointers(ledger, address, provider)).map(async (p) => {
      const dataHash = hashResultSet((await store.resultSet(p.query, patientId)) as ResourceLike[]);
      return { query: p.query, chainHash: p.dataHash, dataHash, match: dataHash === p.dataHash };
    }),
  );
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'verified', valueBoolean: pointers.every((p) => p.match) },
      ...pointers.map((p) => ({
        name: 'pointer',
        part: [
          { name: 'query', valueString: p.query },
          { name: 'chainHash', valueString: p.chainHash },
          { name: 'dataHash', valueString: p.dataHash },
          { name: 'match', valueBoolean: p.match },
        ],
      })),
    ],
  };
}
