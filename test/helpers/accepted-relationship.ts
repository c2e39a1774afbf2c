/**
 * The start the outbox tests share (outbox.test.ts, outbox-inflight.test.ts): a chain with a provider
 * and a patient who accepted its relationship, whose one pointer is the patient's lab results.
 */
import { addRecordPointer, respond, type LedgerClient } from '../../src/sdk/index.js';
import { startFixture, type Fixture } from '../../bench/harness/chain.js';

export const LAB_SCOPE = 'Observation?category=laboratory';

export interface AcceptedRelationship {
  f: Fixture;
  provider: LedgerClient;
  patient: LedgerClient;
  relationshipId: bigint;
}

export async function acceptedRelationship(): Promise<AcceptedRelationship> {
  const f = await startFixture();
  try {
    const provider = await f.newProvider();
    const patient = await f.newPatient(provider);
    const { relationshipId } = await addRecordPointer(provider, { patient: patient.account!.address, query: LAB_SCOPE, dataHash: `0x${'11'.repeat(32)}` });
    await respond(patient, { relationshipId, accept: true });
    return { f, provider, patient, relationshipId };
  } catch (err) {
    await f.close();
    throw err;
  }
}
