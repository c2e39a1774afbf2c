/**
 * `npm run test:external`: the chain-facing test files against a separately started anvil with 2 s
 * blocks — the block period of the Besu QBFT network in deploy/besu — reached only through
 * MEDLEDGER_RPC_URL, so nothing may assume a transaction is mined the moment it is sent.
 *
 * The tests reach anvil through a proxy that answers only the eth_, net_ and web3_ namespaces, what
 * a provider's Besu RPC node serves (deploy/besu/config-rpc-*.toml; bench/harness/external-node.ts,
 * shared with the scale bench): an anvil_*, evm_* or debug_* call fails as it would there, and tests
 * that need one skip themselves in this mode.
 *
 * Each file deploys its own contract with its own deployer: one of the node's prefunded accounts
 * (on Besu, a genesis `alloc` entry), so two files running side by side never race for one nonce.
 *
 * `npm run test:external -- test/flow.test.ts` runs only the files given.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAnvil } from '../src/chain/anvil.js';
import { DEV_ACCOUNTS, devAccountKey, startStandardRpc } from '../bench/harness/external-node.js';

/** Seconds per block, as `blockperiodseconds` in deploy/besu/genesis.json. */
const BLOCK_TIME = 2;

/**
 * The files whose chain use is the point (contract rules, the flow, the CLI, the Ethereum client, the
 * gatekeeper's grants, freshness, audit anchoring and replication), longest first so that the
 * workers finish together. Left out: external-node.test.ts (it starts its own 1 s node; it runs in
 * `npm test`), manager-browser.test.ts (Chromium plus two seeded gatekeepers: minutes of 2 s blocks
 * for SDK paths that flow and gatekeeper-* cover), the other chain-using files (they stay in
 * `npm test`, to keep this run near 8 minutes on two cores; a file joins by being listed here), and
 * every file that never opens a chain.
 */
const EXTERNAL_FILES = [
  'test/contracts.test.ts',
  'test/cli.test.ts',
  'test/client-sync.test.ts',
  'test/gatekeeper-access.test.ts',
  'test/gatekeeper-freshness.test.ts',
  'test/gatekeeper-replication.test.ts',
  'test/gatekeeper-security.test.ts',
  'test/gas.test.ts',
  'test/flow.test.ts',
];

/** Files at a time: they mostly wait for blocks (about a third of two cores busy at two), so four fit; fewer beside `npm test` (scripts/test.ts). */
const CONCURRENCY = Number(process.env.MEDLEDGER_EXTERNAL_CONCURRENCY ?? 4);

interface FileResult {
  file: string;
  pass: number;
  fail: number;
  skip: number;
  code: number;
  seconds: number;
}

function runFile(file: string, env: NodeJS.ProcessEnv): Promise<FileResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      // Whole files at a time, so the two files running side by side do not interleave their lines.
      process.stdout.write(`\n=== ${file}\n${out}`);
      const count = (name: string) => Number(new RegExp(`^# ${name} (\\d+)`, 'm').exec(out)?.[1] ?? 0);
      resolve({ file, pass: count('pass'), fail: count('fail'), skip: count('skipped'), code: code ?? 1, seconds: (Date.now() - started) / 1000 });
    });
  });
}

async function main(): Promise<number> {
  const only = process.argv.slice(2);
  const files = only.length ? only : EXTERNAL_FILES;
  if (files.length > DEV_ACCOUNTS) throw new Error(`at most ${DEV_ACCOUNTS} files: one prefunded deployer each`);
  const dir = mkdtempSync(join(tmpdir(), 'medledger-external-'));
  // Free gas, as the Besu genesis (zeroBaseFee): the base fee starts at 0 and stays there while blocks are under half full.
  const node = await startAnvil({ stateFile: join(dir, 'state.json'), blockTime: BLOCK_TIME, baseFee: 0 });
  const rpc = await startStandardRpc(node.rpcUrl);
  console.log(`external node ${rpc.url} (eth_, net_, web3_ only) → anvil ${node.rpcUrl}, ${BLOCK_TIME} s blocks, base fee 0; ${files.length} files, ${CONCURRENCY} at a time`);
  const started = Date.now();
  // The PostgreSQL run belongs to `npm test`; here the chain is what is under test.
  const { MEDLEDGER_TEST_DATABASE_URL: _pg, MEDLEDGER_BLOCK_TIME: _bt, MEDLEDGER_CONTRACT_ADDRESS: _ca, ...base } = process.env;
  const results: FileResult[] = [];
  try {
    const queue = files.map((file, index) => ({ file, index }));
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        results.push(await runFile(next.file, { ...base, MEDLEDGER_RPC_URL: rpc.url, MEDLEDGER_DEPLOYER_KEY: devAccountKey(next.index) }));
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  } finally {
    await rpc.close();
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\nexternal node, ${BLOCK_TIME} s blocks:`);
  for (const r of results.sort((a, b) => a.file.localeCompare(b.file))) {
    console.log(`  ${r.file.padEnd(40)} ${String(r.pass).padStart(3)} passed ${String(r.fail).padStart(2)} failed ${String(r.skip).padStart(2)} skipped  ${r.seconds.toFixed(0)} s`);
  }
  if (rpc.refused.size) console.log(`\nrefused (not served by a production node): ${[...rpc.refused].map(([m, n]) => `${m} ×${n}`).join(', ')}`);
  const pass = results.reduce((n, r) => n + r.pass, 0);
  const fail = results.reduce((n, r) => n + r.fail, 0);
  console.log(`\n${pass} passed, ${fail} failed (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  return results.some((r) => r.code !== 0) || fail > 0 ? 1 : 0;
}

process.exitCode = await main();
