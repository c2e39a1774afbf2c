/**
 * The seed's whole consent flow on the embedded node, through the SDK, then a privacy scan of every
 * transaction and event it produced.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { decodeEventLog, decodeFunctionData, type Hex } from 'viem';
import { loadLocalSummary, saveLocalSummary, wipeLocalSummary } from '../src/client/local-state.js';
import { medLedgerAbi } from '../src/chain/generated/contracts.js';
import { parsePointerQuery } from '../src/consent/query.js';
import { hashResultSet, type ResourceLike } from '../src/records/hash.js';
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
  type LedgerClient,
} from '../src/sdk/index.js';
import { PEPPER, startFixture, type Fixture } from './helpers/chain.js';

const IDENTITY = 'urn:oid:2.16.840.1.113883.4.1|123-45-6789';
const PHI = ['123-45-6789', 'Jane', 'Doe', '1984-03-07', '4548-4', 'Hemoglobin A1c', '44054006', 'Diabetes', 'feels tired'];

function observation(id: string, category: string, code: string, display: string, value: number): ResourceLike {
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: category }] }],
    code: { coding: [{ system: 'http://loinc.org', code, display }] },
    subject: { reference: 'Patient/jane', display: 'Jane Doe' },
    valueQuantity: { value, unit: '%' },
    note: [{ text: 'feels tired' }],
  };
}

let f: Fixture;
let stMary: LedgerClient;
let cityLab: LedgerClient;
let patient: LedgerClient;
let researcher: LedgerClient;

before(async () => {
  f = await startFixture();
  stMary = await f.newProvider();
  cityLab = await f.newProvider();
  patient = await f.newPatient(stMary, IDENTITY);
  researcher = f.as(await f.newAccount());
});
after(() => f.close());

test('the seed flow, from a new record to restore-from-chain', async () => {
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
});

test('no medical data, names or identifiers in any transaction or event of the flow', async () => {
  const pc = f.governor.publicClient;
  const latest = await pc.getBlockNumber();
  let txs = 0;
  let strings = 0;
  const scan = (hex: Hex, where: string) => {
    const text = Buffer.from(hex.slice(2), 'hex').toString('latin1');
    for (const word of PHI) assert.ok(!text.includes(word), `${where} contains "${word}"`);
  };
  const checkStrings = (args: unknown, where: string) => {
    for (const value of Object.values(args ?? {})) {
      if (typeof value === 'string' && !value.startsWith('0x')) {
        strings++;
        assert.doesNotThrow(() => parsePointerQuery(value), `${where}: "${value}" is not an on-chain-safe query`);
      }
    }
  };
  for (let n = f.runtime.deployment.deployBlock + 1n; n <= latest; n++) {
    const block = await pc.getBlock({ blockNumber: n, includeTransactions: true });
    for (const tx of block.transactions) {
      if (tx.to?.toLowerCase() !== f.runtime.deployment.contract.toLowerCase()) continue;
      txs++;
      scan(tx.input, `tx ${tx.hash}`);
      const call = decodeFunctionData({ abi: medLedgerAbi, data: tx.input });
      checkStrings(call.args, `${call.functionName} calldata`);
      const receipt = await pc.getTransactionReceipt({ hash: tx.hash });
      for (const log of receipt.logs) {
        scan(log.data, `log of ${tx.hash}`);
        for (const topic of log.topics) scan(topic, `topic of ${tx.hash}`);
        const event = decodeEventLog({ abi: medLedgerAbi, data: log.data, topics: log.topics });
        checkStrings(event.args, event.eventName);
      }
    }
  }
  assert.ok(txs >= 10, `scanned ${txs} transactions`);
  assert.ok(strings >= 4, `checked ${strings} strings`);
});
