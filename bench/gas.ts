/**
 * Gas used by each step of the consent flow, measured from receipts on a fresh embedded chain.
 * Shared by `npm run bench` (which records it) and test/gas.test.ts (which holds the targets).
 */
import { writeLedger } from '../src/chain/write.js';
import { hashResultSet } from '../src/records/hash.js';
import { grantViewer, respond, revokeViewer, setStatus, updatePointer, addRelationship, addPointer } from '../src/sdk/index.js';
import { attestPatient, registerPatient } from '../src/sdk/registrar.js';
import { hashIdentity } from '../src/sdk/identity.js';
import { PEPPER, startFixture } from '../test/helpers/chain.js';

/** Targets from issue 3 (MIT MedRec 2.0, for reference: 1.39M per relationship, 321k per grant). */
export const GAS_TARGETS = {
  registerPatient: 100_000,
  addRelationship: 120_000,
  updatePointer: 60_000,
  grantViewer: 60_000,
  revokeViewer: 30_000,
  setStatus: 40_000,
  respond: 40_000,
} as const;

export type GasReport = Record<keyof typeof GAS_TARGETS | 'addRelationshipFirst' | 'addPointer' | 'anchorAudit', number>;

/** Runs each operation once in its usual (steady-state) situation and returns gasUsed per operation. */
export async function measureGas(): Promise<GasReport> {
  const f = await startFixture();
  try {
    const provider = await f.newProvider();
    const other = await f.newProvider();
    const patient = f.as(await f.newAccount());
    const viewer = await f.newAccount();
    const identityHash = hashIdentity('urn:bench|1', PEPPER);
    const attestation = await attestPatient(provider, { identityHash, patient: patient.account!.address });
    const register = await registerPatient(patient, { identityHash, attester: provider.account!.address, attestation });

    const data = (n: number) => hashResultSet([{ resourceType: 'Observation', id: String(n) }]);
    const query = 'Observation?category=laboratory';
    const first = await addRelationship(other, { patient: patient.account!.address, query, dataHash: data(0) });
    // Steady state: the patient already has a relationship, as almost every patient will.
    const rel = await addRelationship(provider, { patient: patient.account!.address, query, dataHash: data(1) });
    const id = rel.relationshipId;
    const pointer = await addPointer(provider, { relationshipId: id, query: 'Condition', dataHash: data(2) });
    const update = await updatePointer(provider, { relationshipId: id, query, dataHash: data(3) });
    const status = await setStatus(provider, { relationshipId: id, status: 'awaiting-approval' });
    const accept = await respond(patient, { relationshipId: id, accept: true });
    const scope = 'Observation?category=laboratory';
    const expiresAt = Math.floor(Date.now() / 1000) + 86_400;
    const grant = await grantViewer(patient, { relationshipId: id, viewer: viewer.address, scope, expiresAt });
    const revoke = await revokeViewer(patient, { relationshipId: id, viewer: viewer.address, scope });
    // A gatekeeper's audit anchor (audit.ts anchorPending): its second, as every later one.
    await writeLedger(provider, 'anchorAudit', [data(4), 1n, 100n]);
    const anchor = await writeLedger(provider, 'anchorAudit', [data(5), 101n, 100n]);
    const n = (r: { gasUsed: bigint }) => Number(r.gasUsed);
    return {
      registerPatient: n(register),
      addRelationship: n(rel),
      addRelationshipFirst: n(first),
      addPointer: n(pointer),
      updatePointer: n(update),
      grantViewer: n(grant),
      revokeViewer: n(revoke),
      setStatus: n(status),
      respond: n(accept),
      anchorAudit: n(anchor),
    };
  } finally {
    await f.close();
  }
}
