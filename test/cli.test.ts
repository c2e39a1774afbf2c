/**
 * The `medledger` CLI end to end: start, every flow step, one-line errors with non-zero exit, and a
 * restart after the node is killed with SIGKILL.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { spawn } from 'node:child_process';
import { binary, cliEnv, REPO, runCli, startCli } from './helpers/cli.js';
import { tempDir } from '../bench/harness/chain.js';
import { loadUsers } from '../src/keys/users.js';

const dataDir = tempDir('medledger-cli-');
const env = cliEnv(dataDir);
const external = Boolean(process.env.MEDLEDGER_RPC_URL);
let started: Awaited<ReturnType<typeof startCli>>;

const json = (text: string) => JSON.parse(text) as Record<string, any>;

before(async () => {
  started = await startCli(env);
});
after(async () => {
  await started?.stop('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
});

test('start prints the chain, the contract and the demo users', () => {
  const out = started.output();
  assert.match(out, /chain\s+http:\/\/127\.0\.0\.1:\d+/);
  assert.match(out, /MedLedger\s+0x[0-9a-fA-F]{40}/);
  // On an external node the governor is MEDLEDGER_DEPLOYER_KEY, not a user of the data directory.
  const names = [...(external ? [] : ['governor']), 'st-marys', 'city-lab', 'alice', 'bob', 'carol'];
  for (const name of names) assert.match(out, new RegExp(`${name}\\s`));
  if (process.platform !== 'win32') assert.equal(statSync(dataDir).mode & 0o077, 0, 'data directory is owner-only');
});

test('--help lists the flow commands', async () => {
  const top = await runCli(['--help'], env);
  assert.equal(top.code, 0);
  for (const cmd of ['start', 'reset', 'patient', 'provider', 'governor', 'identity']) assert.match(top.stdout, new RegExp(`\\b${cmd}\\b`));
  const patient = await runCli(['patient', '--help'], env);
  for (const cmd of ['register', 'list', 'accept', 'reject', 'grant', 'revoke', 'restore']) assert.match(patient.stdout, new RegExp(`\\b${cmd}\\b`));
});

test('the flow through the CLI', async () => {
  const lookup = await runCli(['--json', 'identity', 'lookup', 'urn:medledger:demo-mrn|100001'], env);
  assert.equal(lookup.code, 0, lookup.stderr);
  const alice = json(lookup.stdout).address as string;

  const add = await runCli(['--json', '--as', 'st-marys', 'provider', 'add-record', '--patient', alice, '--query', 'Observation', '--hash', `0x${'ab'.repeat(32)}`], env);
  assert.equal(add.code, 0, add.stderr);
  const { relationshipId, action } = json(add.stdout);
  assert.equal(action, 'addRelationship');

  assert.equal((await runCli(['--as', 'alice', 'patient', 'accept', 'st-marys'], env)).code, 0);
  const grant = await runCli(['--as', 'alice', 'patient', 'grant', relationshipId, '--viewer', 'carol', '--scope', 'Observation?category=laboratory', '--expires', '1d'], env);
  assert.equal(grant.code, 0, grant.stderr);
  const check = await runCli(['--as', 'carol', 'check', relationshipId, '--scope', 'Observation?category=laboratory'], env);
  assert.match(check.stdout, /granted until 20\d\d-/);

  const list = json((await runCli(['--json', '--as', 'alice', 'patient', 'list'], env)).stdout);
  assert.equal(list.relationships[0].status, 'accepted');
  assert.equal(list.relationships[0].grants[0].scope, 'Observation?category=laboratory');

  // For people (issue 18): a table with names and plain words, no JSON, no colour codes on a pipe;
  // the relationship addressed by its provider's name.
  const table = (await runCli(['--as', 'alice', 'patient', 'list'], env)).stdout;
  assert.match(table, /^Records of Alice \(patient\)$/m);
  assert.match(table, /^St Mary's Hospital\s+st-marys\s+accepted\s+All observations$/m);
  assert.match(table, /^Carol \(researcher\)\s+Lab results\s+St Mary's Hospital\s+20\d\d-\d\d-\d\d$/m);
  assert.doesNotMatch(table, /[{}\x1b]|0x[0-9a-f]{40}/i);
  const byName = await runCli(['--as', 'carol', 'check', 'st-marys', '--patient', 'alice', '--scope', 'Observation?category=laboratory'], env);
  assert.equal(byName.code, 0, byName.stderr);
  assert.match(byName.stdout, /^Carol \(researcher\) may read Observation\?category=laboratory: granted until 20\d\d-/);
  const checked = json((await runCli(['--json', '--as', 'carol', 'check', 'st-marys', '--patient', 'alice', '--scope', 'Observation?category=laboratory'], env)).stdout);
  assert.deepEqual([checked.relationshipId, checked.granted], [relationshipId, true]);
  const noPatient = await runCli(['--as', 'carol', 'check', 'st-marys', '--scope', 'Observation?category=laboratory'], env);
  assert.equal(noPatient.code, 1);
  assert.match(noPatient.stderr, /^medledger: you have no relationship with st-marys \(for another patient's, give --patient <name>\)\n$/);
  assert.match((await runCli(['--as', 'st-marys', 'provider', 'relationships'], env)).stdout, new RegExp(`^Alice \\(patient\\)\\s+alice\\s+${relationshipId}$`, 'm'));

  assert.equal((await runCli(['--as', 'alice', 'patient', 'revoke', relationshipId, '--viewer', 'carol', '--scope', 'Observation?category=laboratory'], env)).code, 0);
  const denied = await runCli(['--as', 'carol', 'check', relationshipId, '--scope', 'Observation?category=laboratory'], env);
  assert.equal(denied.code, 1);
  assert.equal(denied.stderr, 'medledger: no active grant for that viewer and scope\n');

  const localFile = join(dataDir, 'local', `${alice.toLowerCase()}.json`);
  const restore = await runCli(['--as', 'alice', 'patient', 'restore'], env);
  assert.match(restore.stdout, /restored 1 relationships/);
  assert.equal(json(readFileSync(localFile, 'utf8')).relationships[0].pointers[0].query, 'Observation');
});

test('leave and re-enter: a new data directory, the keystore alone, every relationship rebuilt from the chain', async () => {
  const status = json((await runCli(['--json', 'status'], env)).stdout);
  const alice = status.users.find((u: { name: string }) => u.name === 'alice');
  const password = json(readFileSync(join(dataDir, 'users.json'), 'utf8')).find((u: { name: string }) => u.name === 'alice').demoPassword as string;
  const before = json((await runCli(['--json', '--as', 'alice', 'patient', 'list'], env)).stdout);

  const fresh = tempDir('medledger-reenter-');
  const env2 = { ...cliEnv(fresh), MEDLEDGER_RPC_URL: status.rpcUrl, MEDLEDGER_CONTRACT_ADDRESS: status.contract };
  const keystore = join(dataDir, 'keys', `${alice.address.toLowerCase()}.json`);
  const imported = await runCli(['--password', password, 'user-import', 'alice', '--keystore', keystore], env2);
  assert.equal(imported.code, 0, imported.stderr);
  const restore = await runCli(['--as', 'alice', '--password', password, 'patient', 'restore'], env2);
  assert.equal(restore.code, 0, restore.stderr);
  assert.match(restore.stdout, new RegExp(`restored ${before.relationships.length} relationships`));
  const after = json((await runCli(['--json', '--as', 'alice', '--password', password, 'patient', 'list'], env2)).stdout);
  assert.deepEqual(after.relationships, before.relationships);
  const wrong = await runCli(['--password', 'nope', 'user-import', 'alice2', '--keystore', keystore], env2);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /wrong password/);
});

test('registering a patient needs the attester\'s key: no stored password, fails without the attester\'s password, succeeds with it', { skip: external && 'needs the embedded governor' }, async () => {
  // A provider and a patient created here, as real users: their passwords are written nowhere.
  const [hospitalPassword, patientPassword] = ['northgate-secret-7f3a', 'dave-secret-91c2'];
  for (const args of [
    ['--password', hospitalPassword, 'user-create', 'northgate', '--role', 'provider', '--identity', 'urn:medledger:org|northgate'],
    ['--password', patientPassword, 'user-create', 'dave', '--role', 'patient'],
    ['--as', 'governor', 'governor', 'accredit', 'northgate', '--identity', 'urn:medledger:org|northgate'],
  ]) {
    const r = await runCli(args, env);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  }
  const files = readFileSync(join(dataDir, 'users.json'), 'utf8');
  for (const secret of [hospitalPassword, patientPassword]) assert.ok(!files.includes(secret), 'a real user\'s password is not stored');
  const dave = loadUsers(dataDir).find((u) => u.name === 'dave')!;
  const { rpcUrl } = json((await runCli(['--json', 'status'], env)).stdout);
  await fetch(rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'anvil_setBalance', params: [dave.address, '0xde0b6b3a7640000'] }) });

  const register = (...extra: string[]) =>
    runCli(['--as', 'dave', '--password', patientPassword, 'patient', 'register', '--identity', 'urn:medledger:demo-mrn|900001', '--attester', 'northgate', ...extra], env);
  for (const [extra, message] of [[[], /^medledger: user "northgate" needs a password \(--attester-password or MEDLEDGER_ATTESTER_PASSWORD, or its --attestation\)\n$/], [['--attester-password', patientPassword], /wrong password/]] as const) {
    const refused = await register(...extra);
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stderr, message);
    assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
  }
  const nobody = await runCli(['identity', 'lookup', 'urn:medledger:demo-mrn|900001'], env);
  assert.equal(nobody.code, 1, 'no registration was made without the attester\'s key');

  const registered = await register('--attester-password', hospitalPassword);
  assert.equal(registered.code, 0, registered.stderr);
  assert.equal(registered.stdout, `registered ${dave.address}\n`);
  const lookup = json((await runCli(['--json', 'identity', 'lookup', 'urn:medledger:demo-mrn|900001'], env)).stdout);
  assert.equal(lookup.address, dave.address);
});

test('bad input: one line on stderr, non-zero exit, nothing changed', async () => {
  const cases: [string[], RegExp][] = [
    [['--as', 'st-marys', 'provider', 'add-record', '--patient', '0x1234', '--query', 'Observation', '--hash', `0x${'ab'.repeat(32)}`], /not a valid address/],
    [['--as', 'st-marys', 'provider', 'add-record', '--patient', 'nobody', '--query', 'Observation', '--hash', `0x${'ab'.repeat(32)}`], /unknown user "nobody"/],
    [['--as', 'st-marys', 'provider', 'add-record', '--patient', 'bob', '--query', 'Condition?code=44054006', '--hash', `0x${'ab'.repeat(32)}`], /not allowed on chain/],
    [['--as', 'st-marys', 'provider', 'add-record', '--patient', 'bob', '--query', 'Observation', '--hash', '0x12'], /not a 32-byte hex hash/],
    [['--as', 'carol', 'provider', 'add-record', '--patient', 'bob', '--query', 'Observation', '--hash', `0x${'ab'.repeat(32)}`], /is not an accredited provider/],
    [['--as', 'st-marys', 'provider', 'add-record', '--patient', 'carol', '--query', 'Observation', '--hash', `0x${'ab'.repeat(32)}`], /is not a registered patient/],
    [['--as', 'bob', 'patient', 'accept', 'st-marys'], /no relationship with st-marys/],
    [['--as', 'alice', 'patient', 'grant', 'st-marys', '--viewer', 'carol', '--scope', 'Observation', '--expires', 'soon'], /cannot read expiry/],
    [['--as', 'carol', 'governor', 'accredit', 'carol', '--identity', 'x'], /is not the governor/],
    [['--as', 'alice', '--password', 'wrong', 'patient', 'list'], /wrong password/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(args, env);
    assert.equal(r.code, 1, `${args.join(' ')} exited ${r.code}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
  }
  const bob = json((await runCli(['--json', '--as', 'bob', 'patient', 'list'], env)).stdout);
  assert.deepEqual(bob.relationships, [], 'no failed command left anything on chain');
  const unknown = await runCli(['frobnicate'], env);
  assert.notEqual(unknown.code, 0);
});

test('the gatekeeper command takes its publishing options (issue 19): a bad window in one line, and a gatekeeper that answers with them', async () => {
  const bad = await runCli(['--as', 'st-marys', 'gatekeeper', '--port', '0', '--publish-window', 'soon'], env);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, 'medledger: --publish-window takes a whole number of milliseconds\n');
  const child = spawn(process.execPath, [binary(), '--as', 'st-marys', 'gatekeeper', '--port', '0', '--anchor-every', '0', '--publish-window', '100', '--answer-before-mined'], { env, cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', () => {
        const m = /gatekeeper of st-marys \(0x[0-9a-fA-F]{40}\) at (http:\/\/\S+)\/fhir\/R4/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`the gatekeeper exited with ${code}: ${out}`)));
    });
    const metadata = await fetch(`${url}/fhir/R4/metadata`);
    assert.equal(metadata.status, 200);
    assert.equal(((await metadata.json()) as { resourceType: string }).resourceType, 'CapabilityStatement');
  } finally {
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0, out);
  }
});

test('state written before kill -9 of the node is there after medledger start again', { skip: external && 'external node: the embedded node is not used' }, async () => {
  const add = await runCli(['--as', 'city-lab', 'provider', 'add-record', '--patient', 'bob', '--query', 'DiagnosticReport?category=LAB', '--hash', `0x${'cd'.repeat(32)}`], env);
  assert.equal(add.code, 0, add.stderr);
  // anvil persists once a second (--state-interval 1): wait for a dump newer than the write.
  const stateFile = join(dataDir, 'chain', 'state.json');
  const writtenAt = Date.now();
  while (statSync(stateFile).mtimeMs < writtenAt + 200) await new Promise((r) => setTimeout(r, 100));

  const { nodePid } = json(readFileSync(join(dataDir, 'node.json'), 'utf8'));
  process.kill(nodePid, 'SIGKILL');
  const [code] = await once(started.child, 'exit');
  assert.equal(code, 1, 'medledger start exits when its node dies');
  assert.match(started.output(), /the chain node exited/);

  started = await startCli(env);
  const bob = json((await runCli(['--json', '--as', 'bob', 'patient', 'list'], env)).stdout);
  assert.equal(bob.relationships.length, 1);
  assert.equal(bob.relationships[0].pointers[0].dataHash, `0x${'cd'.repeat(32)}`);
  assert.doesNotMatch(started.output(), /created demo user/, 'second start reuses the data directory');
});
