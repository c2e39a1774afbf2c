/**
 * The seed's consent flow as one function, so the same steps run on the embedded node and on an
 * external node reached only through JSON-RPC.
 */
import assert from 'node:assert/strict';
import { loadLocalSummary, saveLocalSummary, wipeLocalSummary } from '../../src/client/local-state.js';
import { hashResultSet, type ResourceLike } from '../../src/records/hash.js';
import {
  addRecordPointer,
  checkAccess,
  grantViewer,
  hashIdentity,
  lookupIdentity,
  readSummary,
  restoreFromChain,
  respond,
  revokeViewer,
} from '../../src/sdk/index.js';
import { PEPPER, type Fixture } from '../../bench/harness/chain.js';

export const IDENTITY = 'urn:oid:2.16.840.1.113883.4.1|123-45-6789';
/** Words from the records and identity of the flow that must never reach the chain. */
export const PHI = ['123-45-6789', 'Jane', 'Doe', '1984-03-07', '4548-4', 'Hemoglobin A1c', '44054006', 'Diabetes', 'feels tired'];

function observation(id: string, category: string, code: string, display: string, value: number): ResourceLike {
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: category }] }],
    code: { coding: [{ system: 'http://loinc.org', code, display }] },
    subject: { reference: 'Patient/jane', display: 'Jane Doe' },
    effectiveDateTime: '1984-03-07',
    valueQuantity: { value, unit: '%' },
    note: [{ text: 'feels tired' }],
  };
}

/** Runs the whole flow on `f`, asserting each step. */
export async function seedFlow(f: Fixture): Promise<void> {
  const stMary = await f.newProvider();
  const cityLab = await f.newProvider();
  const patient = await f.newPatient(stMary, IDENTITY);
  const researcher = f.as(await f.newAccount());
  const me = patient.account!.address;
  // Provider looks the patient up in the Registrar by identity.
  assert.equal(await lookupIdentity(stMary, hashIdentity(IDENTITY, PEPPER)), me);

  // Provider adds a record and links a pointer (query + hash) to a new relationship.
  const records = [observation('a1c-1', 'laboratory', '4548-4', 'Hemoglobin A1c', 7.1)];
  const first = await addRecordPointer(stMary, { patient: me, query: 'Observation', dataHash: hashResultSet(records) });
  assert.equal(first.action, 'addRelationship');
  const other = await addRecordPointer(cityLab, {
    patient: me,
    query: 'DiagnosticReport?category=LAB',
    dataHash: hashResultSet([]),
  });

  // Patient sees both as new, accepts one and rejects the other.
  let summary = await readSummary(patient, me);
  assert.deepEqual(summary.relationships.map((r) => r.status), ['new', 'new']);
  await respond(patient, { relationshipId: first.relationshipId, accept: true });
  await respond(patient, { relationshipId: other.relationshipId, accept: false });
  summary = await readSummary(patient, me);
  assert.deepEqual(summary.relationships.map((r) => r.status), ['accepted', 'rejected']);

  // Provider writes another record: the pointer's hash changes and the status becomes updated.
  records.push(observation('a1c-2', 'laboratory', '4548-4', 'Hemoglobin A1c', 6.8));
  const update = await addRecordPointer(stMary, { patient: me, query: 'Observation', dataHash: hashResultSet(records) });
  assert.equal(update.action, 'updatePointer');
  summary = await readSummary(patient, me);
  const rel = summary.relationships[0]!;
  assert.equal(rel.status, 'updated');
  assert.equal(rel.pointers[0]!.dataHash, hashResultSet(records));
  assert.notEqual(rel.pointers[0]!.dataHash, hashResultSet(records.slice(0, 1)));

  // Patient grants the researcher a narrower query with an expiry; it is visible on chain.
  const expiresAt = Math.floor(Date.now() / 1000) + 86_400;
  await grantViewer(patient, {
    relationshipId: first.relationshipId,
    viewer: researcher.account!.address,
    scope: 'Observation?category=laboratory',
    expiresAt,
    pointers: rel.pointers.map((p) => p.query),
  });
  const scope = { relationshipId: first.relationshipId, viewer: researcher.account!.address, scope: 'Observation?category=laboratory' };
  assert.equal(await checkAccess(researcher, scope), expiresAt);
  summary = await readSummary(patient, me);
  assert.deepEqual(
    summary.relationships[0]!.grants.map((g) => [g.viewer, g.scope, g.expiresAt]),
    [[researcher.account!.address, 'Observation?category=laboratory', expiresAt]],
  );
  saveLocalSummary(f.config.dataDir, summary);

  // Patient revokes: the grant is gone.
  await revokeViewer(patient, scope);
  await assert.rejects(checkAccess(researcher, scope), { errorName: 'NotGranted' });
  summary = await readSummary(patient, me);
  assert.deepEqual(summary.relationships[0]!.grants, []);
  saveLocalSummary(f.config.dataDir, summary);

  // Patient wipes local state and rebuilds every relationship and pointer from the chain alone.
  wipeLocalSummary(f.config.dataDir, me);
  assert.equal(loadLocalSummary(f.config.dataDir, me), undefined);
  const restored = await restoreFromChain(f.as(patient.account!), me);
  assert.deepEqual({ ...restored, blockNumber: '' }, { ...summary, blockNumber: '' });
  assert.equal(restored.relationships.length, 2);
  assert.equal(restored.relationships[1]!.pointers[0]!.query, 'DiagnosticReport?category=LAB');
}
