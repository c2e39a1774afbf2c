/**
 * `medledger start --demo` (what `npm start` runs): the whole system from one command — two providers'
 * gatekeepers over seeded stores, each its own process, the EHR Manager with its JSON-RPC relay — stopped cleanly by Ctrl-C,
 * the data directory reused by the next start and wiped by `medledger reset`. Nothing it started
 * outlives it: not after Ctrl-C, not after it is killed outright (issue 14 §1).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../bench/harness/chain.js';
import { alive, until } from './helpers/processes.js';
import type { Address } from 'viem';
import { loadUsers, unlockUser } from '../src/keys/users.js';
import { notificationProofMessage } from '../src/protocol/notifications.js';
import { binary, cliEnv, groupAlive, killGroup, runCli, startCli } from './helpers/cli.js';

const external = !!process.env.MEDLEDGER_RPC_URL;

test('start refuses demo mode on a reachable host, and the whole system without demo users', async () => {
  const env = cliEnv(tempDir('medledger-start-refuse-'));
  const reachable = await runCli(['start', '--demo', '--host', '0.0.0.0'], env);
  assert.equal(reachable.code, 1);
  assert.match(reachable.stderr, /^medledger: demo mode .* cannot listen on 0\.0\.0\.0/);
  const plain = await runCli(['start'], env);
  assert.equal(plain.code, 1);
  assert.match(plain.stderr, /start with --demo/);
  assert.equal(plain.stderr.trim().split('\n').length, 1, plain.stderr);
});

test('start runs the whole system, stops on Ctrl-C, reuses and resets its data directory, and leaves no process behind', { skip: external && 'starts its own embedded node', timeout: 600_000 }, async () => {
  const dataDir = tempDir('medledger-start-');
  const env = cliEnv(dataDir);
  let started = await startCli(env, ['--patients', '2']);
  const out = started.output();
  assert.match(out, /seeding st-marys: \d+\/\d+ resources/, 'progress while seeding');
  assert.match(out, /seeded city-lab: \d+ resources of 2 patients/);
  const url = /EHR Manager: (http:\/\/\S+)/.exec(out)?.[1];
  assert.ok(url, out);
  // The demo passwords are printed here, in the terminal, and only here.
  for (const u of loadUsers(dataDir)) assert.match(out, new RegExp(`${u.name}\\s+${u.role}\\s+${u.address}\\s+password ${u.demoPassword}`));

  const page = await (await fetch(url)).text();
  assert.match(page, /<div id="root"><\/div>/, 'the built web app is served');
  const config = (await (await fetch(`${url}/api/config`)).json()) as { providers: { name: string; gatekeeperUrl: string }[]; users: { name: string; address: string }[] };
  assert.deepEqual(config.providers.map((p) => p.name), ['st-marys', 'city-lab']);
  for (const p of config.providers) assert.equal((await fetch(`${p.gatekeeperUrl}/fhir/R4/metadata`)).status, 200);
  // Each provider's gatekeeper is a process of its own (issue 16 §8), reached only over HTTP.
  const providerPids = config.providers.map((p) => Number(new RegExp(`gatekeeper  ${p.name}\\s+${p.gatekeeperUrl}/fhir/R4  \\(process (\\d+)\\)`).exec(out)?.[1]));
  assert.ok(providerPids.every(Number.isInteger), out);
  assert.equal(new Set([started.child.pid, ...providerPids]).size, 3, out);
  for (const pid of providerPids) assert.ok(alive(pid), `gatekeeper process ${pid}`);
  // Each one's SMART discovery points patients' apps at the manager's authorize page, which the manager
  // told it over IPC once it listened (issue 17).
  for (const p of config.providers) {
    let smart: { authorization_endpoint?: string } = {};
    for (let i = 0; i < 50 && !smart.authorization_endpoint; i++) {
      smart = (await (await fetch(`${p.gatekeeperUrl}/fhir/R4/.well-known/smart-configuration`)).json()) as typeof smart;
      if (!smart.authorization_endpoint) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(smart.authorization_endpoint, `${url}/smart/authorize`, p.name);
  }
  const alice = config.users.find((u) => u.name === 'alice')!;
  const stMarys = config.users.find((u) => u.name === 'st-marys')!;
  const keystore = (await (await fetch(`${url}/api/keystores/${alice.address}`)).json()) as { crypto?: { ciphertext?: string } };
  assert.ok(keystore.crypto?.ciphertext, 'a demo patient\'s encrypted keystore, for decryption in the browser');
  assert.equal((await fetch(`${url}/api/keystores/${stMarys.address}`)).status, 404, 'never a provider\'s');
  assert.equal((await fetch(`${url}/api/keystores/0x${'0'.repeat(40)}`)).status, 404);

  // The relay passes what a wallet needs and nothing that administers the node.
  const rpc = (body: unknown) => fetch(`${url}/rpc`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const chainId = (await (await rpc({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] })).json()) as { result: string };
  assert.match(chainId.result, /^0x[0-9a-f]+$/);
  const admin = await rpc({ jsonrpc: '2.0', id: 2, method: 'anvil_setBalance', params: [alice.address, '0x1'] });
  assert.equal(admin.status, 403);
  assert.equal((await rpc([{ jsonrpc: '2.0', id: 3, method: 'eth_blockNumber' }, { jsonrpc: '2.0', id: 4, method: 'evm_mine' }])).status, 403, 'a batch with one admin call is refused whole');

  // Ctrl-C: it stops, and so does everything it started (its process group is empty, the node gone) —
  // within 2 s even while a browser holds Alice's notification stream open (issue 18).
  let { nodePid } = JSON.parse(readFileSync(join(dataDir, 'node.json'), 'utf8')) as { nodePid: number };
  assert.ok(alive(nodePid));
  const time = Math.floor(Date.now() / 1000);
  const proof = `${time}:${await unlockUser(dataDir, 'alice').signMessage({ message: notificationProofMessage(alice.address as Address, time) })}`;
  const stream = (await fetch(`${url}/api/notifications/${alice.address}?proof=${proof}`)).body!.getReader();
  assert.match(new TextDecoder().decode((await stream.read()).value), /^: connected/);
  const pgid = started.child.pid!;
  const exited = new Promise((r) => started.child.once('exit', r));
  const signalled = Date.now();
  started.child.kill('SIGINT');
  assert.equal(await exited, 0, started.output());
  const tookMs = Date.now() - signalled;
  assert.ok(tookMs < 2000, `exited ${tookMs} ms after Ctrl-C with a notification stream open`);
  assert.match(started.output(), /stopping/);
  while (!(await stream.read().catch(() => ({ done: true }))).done); // the server ended it
  assert.equal(alive(nodePid), false, 'the chain node stopped with it');
  for (const pid of providerPids) assert.equal(alive(pid), false, `gatekeeper process ${pid} stopped with it`);
  assert.equal(await until(() => !groupAlive(pgid)), true, 'no process of its group remains');

  started = await startCli(env, ['--patients', '2']);
  // The chain's state was saved at Ctrl-C: accreditations, registrations and pointers are all there.
  assert.doesNotMatch(started.output(), /created demo user|seeded (st-marys|city-lab)|accredited |registered patient|published \d+ pointers/, 'the second start reuses keys, chain and stores');

  // Killed outright (no chance to clean up): its watchdog still stops the chain node.
  ({ nodePid } = JSON.parse(readFileSync(join(dataDir, 'node.json'), 'utf8')) as { nodePid: number });
  const killedGroup = started.child.pid!;
  process.kill(killedGroup, 'SIGKILL');
  assert.equal(await until(() => !alive(nodePid)), true, 'the chain node did not outlive a SIGKILLed medledger start');
  assert.equal(await until(() => !groupAlive(killedGroup)), true, 'no process of its group remains');
  await started.stop();

  const reset = await runCli(['reset', '--yes'], env);
  assert.equal(reset.code, 0, reset.stderr);
  assert.equal(existsSync(dataDir), false);
});

test('when whatever started it dies, start stops and takes its chain node with it', { skip: external && 'starts its own embedded node', timeout: 300_000 }, async () => {
  const dataDir = tempDir('medledger-orphan-');
  // A parent standing in for a test runner or a terminal: it starts `medledger start`, then is SIGKILLed.
  const script = `const c = require('node:child_process').spawn(process.execPath, ${JSON.stringify([binary(), 'start', '--demo', '--chain-only'])}, { stdio: 'inherit' }); console.log('start pid ' + c.pid);`;
  const parent = spawn(process.execPath, ['-e', script], { env: cliEnv(dataDir), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  parent.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  parent.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  try {
    assert.equal(await until(() => out.includes('Stop with Ctrl-C'), 240_000), true, out);
    const startPid = Number(/start pid (\d+)/.exec(out)![1]);
    const { nodePid } = JSON.parse(readFileSync(join(dataDir, 'node.json'), 'utf8')) as { nodePid: number };
    process.kill(parent.pid!, 'SIGKILL');
    assert.equal(await until(() => !alive(startPid)), true, `medledger start outlived its parent:\n${out}`);
    assert.equal(await until(() => !alive(nodePid)), true, 'its chain node outlived it');
    assert.match(out, /stopping… \(parent gone\)/);
    assert.equal(await until(() => !groupAlive(parent.pid!)), true, 'no process of the group remains');
  } finally {
    killGroup(parent.pid!);
  }
});
