/**
 * Integrity check: recompute each pointer's data hash from the store and compare it with the hash on
 * chain. A record changed behind the gatekeeper's back (directly in the database) shows as a mismatch.
 *
 * A pointer whose new hash is still being published (pending.ts) is not a mismatch: between a write's
 * store commit and the block carrying its hash the store is ahead of the chain by design. Each pointer
 * says `state`: current (the chain has the store's hash), pending (the store's hash is the one sent and
 * not yet mined, or the write is still queued; with `pendingSince` and `pendingHash`), or mismatch.
 * `verified` is false only when some pointer is a mismatch; `match` stays "the chain has the store's
 * hash now".
 */
import type { Parameters, ParametersParameter, Patient } from '@medplum/fhirtypes';
import type { Address, Hex } from 'viem';
import type { LedgerClient } from '../../chain/client.js';
import { hashResultSet, type ResourceLike } from '../../records/hash.js';
import type { RecordStore } from '../../records/store.js';
import { GatekeeperError } from '../http/outcomes.js';
import type { PointerState } from './pending.js';
import { addressOfPatient, currentPointers } from './publish.js';

type VerifiedState = 'current' | 'pending' | 'mismatch';

/** `freshness`: the gatekeeper's publisher (what it has sent and not yet seen mined); without it, every difference is a mismatch. */
export async function verifyPointers(
  store: RecordStore,
  ledger: LedgerClient,
  provider: Address,
  patientId: string,
  freshness?: { stateOf(patientId: string, query: string): PointerState },
): Promise<Parameters> {
  const address = addressOfPatient((await store.read('Patient', patientId)) as Patient);
  if (!address) throw new GatekeeperError(404, `Patient/${patientId} is not linked to a chain address`);
  const pointers = await Promise.all(
    (await currentPointers(ledger, address, provider)).map(async (p) => {
      const dataHash = hashResultSet((await store.resultSet(p.query, patientId)) as ResourceLike[]);
      const fresh = freshness?.stateOf(patientId, p.query) ?? { state: 'current' };
      let state: VerifiedState = 'current';
      // Sent and not mined: pending only if what was sent is what the store holds now (or its write is still queued).
      if (dataHash !== p.dataHash) state = fresh.state === 'pending' && (fresh.queued || fresh.hash === dataHash) ? 'pending' : 'mismatch';
      return { query: p.query, chainHash: p.dataHash, dataHash, match: dataHash === p.dataHash, state, fresh };
    }),
  );
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'verified', valueBoolean: pointers.every((p) => p.state !== 'mismatch') },
      ...pointers.map((p) => ({
        name: 'pointer',
        part: [
          { name: 'query', valueString: p.query },
          { name: 'chainHash', valueString: p.chainHash },
          { name: 'dataHash', valueString: p.dataHash },
          { name: 'match', valueBoolean: p.match },
          { name: 'state', valueCode: p.state },
          ...(p.state === 'pending' ? pendingParts(p.fresh) : []),
        ],
      })),
    ],
  };
}

/** `pendingSince` and `pendingHash` (when its hash was computed and sent) of a pending pointer. */
function pendingParts(fresh: PointerState): ParametersParameter[] {
  if (fresh.state !== 'pending') return [];
  const hash: Hex | undefined = fresh.hash;
  return [{ name: 'pendingSince', valueInstant: fresh.since.toISOString() }, ...(hash ? [{ name: 'pendingHash', valueString: hash }] : [])];
}
