/**
 * `medledger start` (what `npm start` runs): the whole system from one command — two providers'
 * gatekeepers over seeded stores, the EHR Manager with its JSON-RPC relay — stopped cleanly by Ctrl-C,
 * the data directory reused by the next start and wiped by `medledger reset`.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { test } from 'node:test';
import { tempDir } from '../bench/harness/chain.js';
import { cliEnv, runCli, startCli } from './helpers/cli.js';

const external = !!process.env.MEDLEDGER_RPC_URL;

test('start runs the whole system, stops on Ctrl-C, reuses and resets its data directory', { skip: external && 'starts its own embedded node', timeout: 600_000 }, async () => {
  const dataDir = tempDir('medledger-start-');
  const env = cliEnv(dataDir);
  let started = await startCli(env, ['--patients', '2']);
  const out = started.output();
  assert.match(out, /seeding st-marys: \d+\/\d+ resources/, 'progress while seeding');
  assert.match(out, /seeded city-lab: \d+ resources of 2 patients/);
  const url = /EHR Manager: (http:\/\/\S+)/.exec(out)?.[1];
  assert.ok(url, out);

  const page = await (await fetch(url)).text();
  assert.match(page, /<div id="root"><\/div>/, 'the built web app is served');
  const config = (await (await fetch(`${url}/api/config`)).json()) as { providers: { name: string; gatekeeperUrl: string }[]; users: { name: string; address: string }[] };
  assert.deepEqual(config.providers.map((p) => p.name), ['st-marys', 'city-lab']);
  for (const p of config.providers) assert.equal((await fetch(`${p.gatekeeperUrl}/fhir/R4/metadata`)).status, 200);
  const alice = config.users.find((u) => u.name === 'alice')!;
  const keystore = (await (await fetch(`${url}/api/keystores/${alice.address}`)).json()) as { crypto?: { ciphertext?: string } };
  assert.ok(keystore.crypto?.ciphertext, 'the encrypted keystore, for decryption in the browser');
  assert.equal((await fetch(`${url}/api/keystores/0x${'0'.repeat(40)}`)).status, 404);

  // The relay passes what a wallet needs and nothing that administers the node.
  const rpc = (body: unknown) => fetch(`${url}/rpc`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const chainId = (await (await rpc({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] })).json()) as { result: string };
  assert.match(chainId.result, /^0x[0-9a-f]+$/);
  const admin = await rpc({ jsonrpc: '2.0', id: 2, method: 'anvil_setBalance', params: [alice.address, '0x1'] });
  assert.equal(admin.status, 403);
  assert.equal((await rpc([{ jsonrpc: '2.0', id: 3, method: 'eth_blockNumber' }, { jsonrpc: '2.0', id: 4, method: 'evm_mine' }])).status, 403, 'a batch with one admin call is refused whole');

  started.child.kill('SIGINT');
  const [code] = await once(started.child, 'exit');
  assert.equal(code, 0, started.output());
  assert.match(started.output(), /stopping/);

  started = await startCli(env, ['--patients', '2']);
  assert.doesNotMatch(started.output(), /created demo user|seeded (st-marys|city-lab)/, 'the second start reuses keys, chain and stores');
  started.child.kill('SIGINT');
  await once(started.child, 'exit');

  const reset = await runCli(['reset', '--yes'], env);
  assert.equal(reset.code, 0, reset.stderr);
  assert.equal(existsSync(dataDir), false);
});
