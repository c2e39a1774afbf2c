/**
 * Break-glass, delegates and guardian recovery through the `medledger` CLI: each flow end to end on a
 * running node (`medledger start --chain-only`), and a one-line error for each.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { Address } from 'viem';
import { createLedgerClient } from '../src/chain/client.js';
import { openChain, type ChainRuntime } from '../src/chain/runtime.js';
import { readConfig } from '../src/config.js';
import { linkPatient } from '../src/gatekeeper/publish/publish.js';
import { startGatekeeper } from '../src/gatekeeper/run.js';
import { loadUsers, unlockUser } from '../src/keys/users.js';
import { loadPepper } from '../src/sdk/identity.js';
import { tempDir } from '../bench/harness/chain.js';
import { cliEnv, startCli, cliSucceeds, cliFailsInOneLine } from './helpers/cli.js';
import { testDatabase } from './helpers/db.js';
import { travelSkip } from './helpers/time.js';

const dataDir = tempDir('medledger-cli-care-');
const env = cliEnv(dataDir);
let started: Awaited<ReturnType<typeof startCli>>;
let runtime: ChainRuntime;

const json = (text: string) => JSON.parse(text) as Record<string, any>;
const address = (name: string) => loadUsers(dataDir).find((u) => u.name === name)!.address as Address;

const ok = async (args: string[]) => (await cliSucceeds(args, env)).stdout;

const fails = (args: string[], message: RegExp) => cliFailsInOneLine(args, env, message);

before(async () => {
  started = await startCli(env);
  runtime = await openChain(readConfig({ ...env }));
  // alice's relationship with st-marys, for the delegate and the recovered key to act on.
  await ok(['--as', 'st-marys', 'provider', 'add-record', '--patient', 'alice', '--query', 'Observation', '--hash', `0x${'ab'.repeat(32)}`]);
});
after(async () => {
  await runtime?.stop();
  if (started.child.exitCode === null) {
    started.child.kill('SIGTERM');
    await once(started.child, 'exit');
  }
  rmSync(dataDir, { recursive: true, force: true });
});

test('break-glass: open, read at the holding gatekeeper, seen and closed by the patient, forbidden in advance', async () => {
  // st-marys holds alice's records behind its gatekeeper.
  const stMarys = createLedgerClient(runtime.deployment, { account: unlockUser(dataDir, 'st-marys') });
  const gk = await startGatekeeper({ ledger: stMarys, database: await testDatabase() });
  try {
    const patientId = (await gk.store.create({ resourceType: 'Patient' })).id!;
    await linkPatient(gk.store, stMarys, patientId, 'urn:medledger:demo-mrn|100001', loadPepper(dataDir));
    const active = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }] };
    await gk.store.create({ resourceType: 'AllergyIntolerance', clinicalStatus: active, patient: { reference: `Patient/${patientId}` }, code: { text: 'penicillin' } });
    await gk.store.create({ resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }] }, subject: { reference: `Patient/${patientId}` } });

    await fails(['--as', 'carol', 'provider', 'break-glass', 'open', 'alice', '--reason', 'x'], /is not an accredited provider/);
    await fails(['--as', 'city-lab', 'provider', 'break-glass', 'read', 'alice', '--at', 'st-marys', '--gatekeeper', gk.url], /no break-glass opened for alice/);
    const opened = json(await ok(['--json', '--as', 'city-lab', 'provider', 'break-glass', 'open', 'alice', '--reason', 'unconscious on arrival', '--duration', '4h']));
    assert.match(opened.reasonHash, /^0x[0-9a-f]{64}$/);
    const read = json(await ok(['--json', '--as', 'city-lab', 'provider', 'break-glass', 'read', 'alice', '--at', 'st-marys', '--gatekeeper', gk.url]));
    assert.deepEqual(read.AllergyIntolerance.map((r: { code: { text: string } }) => r.code.text), ['penicillin']);
    assert.deepEqual(read.Observation, [], 'a lab result is not in the emergency data set');

    const list = json(await ok(['--json', '--as', 'alice', 'patient', 'break-glass', 'list']));
    assert.deepEqual(list.map((o: { provider: string; open: boolean }) => [o.provider, o.open]), [[address('city-lab'), true]]);
    assert.match(await ok(['--as', 'alice', 'patient', 'break-glass', 'close', 'city-lab']), /closed city-lab's emergency access/);
    await fails(['--as', 'city-lab', 'provider', 'break-glass', 'read', 'alice', '--at', 'st-marys', '--gatekeeper', gk.url], /gatekeeper answered 403: break-glass: the opening was closed/);

    await ok(['--as', 'alice', 'patient', 'break-glass', 'forbid']);
    await fails(['--as', 'city-lab', 'provider', 'break-glass', 'open', 'alice', '--reason', 'x'], /has forbidden break-glass access/);
    await ok(['--as', 'alice', 'patient', 'break-glass', 'allow']);
  } finally {
    await gk.close();
  }
});

test('delegates: a carer acts for the patient within the permissions given', async () => {
  await fails(['--as', 'alice', 'patient', 'delegate', 'bob', '--can', 'fly'], /unknown delegate permission "fly"/);
  await ok(['--as', 'alice', 'patient', 'delegate', 'bob', '--can', 'respond,read', '--expires', '30d']);
  const delegates = json(await ok(['--json', '--as', 'alice', 'patient', 'delegates']));
  assert.deepEqual(delegates.map((d: { delegate: string; permissions: string[] }) => [d.delegate, d.permissions]), [[address('bob'), ['respond', 'read']]]);
  assert.match(await ok(['--as', 'bob', '--for', 'alice', 'patient', 'accept', 'st-marys']), /accepted/);
  await ok(['--as', 'alice', 'patient', 'delegate', 'bob', '--can', 'none']);
  await fails(['--as', 'bob', '--for', 'alice', 'patient', 'reject', 'st-marys'], /is not the patient of relationship/);
});

test('guardians: 2 of 3 move alice to a new key after the waiting period; the current key can cancel before', { skip: travelSkip }, async () => {
  const pw = ['--password', 'new-key-password'];
  await ok(['user-create', 'alice-new', '--role', 'patient', ...pw]);
  const newKey = address('alice-new');
  await runtime.fund(newKey);

  await fails(['--as', 'alice', 'patient', 'set-guardians', 'bob', 'carol', 'governor', '--threshold', '1'], /1 of 3 guardians is not a majority/);
  await ok(['--as', 'alice', 'patient', 'set-guardians', 'bob', 'carol', 'governor', '--threshold', '2', '--delay', '1d']);
  await fails(['--as', 'city-lab', 'guardian', 'approve', 'alice', '--new-key', 'alice-new'], /is not a guardian of/);
  assert.match(await ok(['--as', 'bob', 'guardian', 'approve', 'alice', '--new-key', 'alice-new']), /approved \(1 of 2\)/);
  assert.match(await ok(['--as', 'carol', 'guardian', 'approve', 'alice', '--new-key', 'alice-new']), /recovery of alice scheduled/);
  await fails(['--as', 'governor', 'guardian', 'finalize', 'alice'], /the waiting period runs until/);

  // alice still has her key: she cancels, and the guardians must start over.
  assert.match(await ok(['--as', 'alice', 'patient', 'cancel-recovery']), /cancelled the recovery/);

  await ok(['--as', 'bob', 'guardian', 'approve', 'alice', '--new-key', 'alice-new']);
  await ok(['--as', 'governor', 'guardian', 'approve', 'alice', '--new-key', 'alice-new']);
  const pc = createLedgerClient(runtime.deployment).publicClient;
  await pc.request({ method: 'evm_increaseTime' as never, params: [86_400] as never });
  await pc.request({ method: 'evm_mine' as never, params: [] as never });
  assert.match(await ok(['--as', 'alice-new', ...pw, 'guardian', 'finalize', 'alice']), new RegExp(`alice is now held by ${newKey}`));

  // The new key is alice; the old key is nobody. Her relationship is still there.
  const summary = json(await ok(['--json', '--as', 'alice-new', ...pw, 'patient', 'list']));
  assert.equal(summary.patient, address('alice'));
  assert.equal(summary.relationships.length, 1);
  assert.match(await ok(['--as', 'alice-new', ...pw, 'patient', 'reject', 'st-marys']), /rejected/);
  await fails(['--as', 'alice', 'patient', 'accept', 'st-marys'], /is not the patient of relationship/);
});
