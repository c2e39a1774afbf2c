/**
 * The Besu QBFT network files in deploy/besu: the genesis (QBFT settings, milestones, extraData
 * naming exactly the 4 validators), local permissioning (every node in the nodes allowlist, the
 * deployer and governor in the accounts allowlist) and each node's TOML (nothing administrative on
 * RPC). The same checks run on the committed example and on a network generate.ts writes.
 */
import { settings } from '../scripts/solc.js';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { getAddress, type Address, type Hex } from 'viem';
import { privateKeyToAccount, publicKeyToAddress } from 'viem/accounts';
import { exampleNetwork, generateNetwork, writeExample, writeNetwork } from '../deploy/besu/generate.js';
import { BFT_MIX_HASH, decodeQbftExtraData, encodeQbftExtraData } from '../deploy/besu/network.js';
import { tempDir } from '../bench/harness/chain.js';
import { parseToml, type TomlValue } from './helpers/toml.js';

const BESU_DIR = fileURLToPath(new URL('../deploy/besu/', import.meta.url));
const REPO = fileURLToPath(new URL('../', import.meta.url));

/** The Besu files of a directory, by name. */
function readNetworkFiles(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const f of readdirSync(dir)) if (f === 'genesis.json' || f.endsWith('.toml')) files[f] = readFileSync(join(dir, f), 'utf8');
  return files;
}

const strings = (v: TomlValue | undefined): string[] => {
  assert.ok(Array.isArray(v) && v.every((s) => typeof s === 'string'), `expected an array of strings, got ${JSON.stringify(v)}`);
  return v as string[];
};

const ENODE = /^enode:\/\/([0-9a-f]{128})@(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/;

/** The address of a node from its enode URL (the node id is its public key). */
const enodeAddress = (enode: string): Address => publicKeyToAddress(`0x04${ENODE.exec(enode)![1]}` as Hex);

/** The checks both the committed example and a generated network must pass; returns what it found. */
function checkNetwork(files: Record<string, string>, expect: { deployer: Address; governor: Address }) {
  // Genesis shape.
  const genesis = JSON.parse(files['genesis.json']!) as Record<string, any>;
  const config = genesis.config as Record<string, any>;
  assert.ok(Number.isInteger(config.chainId) && config.chainId > 0, 'chainId');
  assert.deepEqual(Object.keys(config.qbft).sort(), ['blockperiodseconds', 'epochlength', 'requesttimeoutseconds']);
  assert.equal(config.qbft.blockperiodseconds, 2, 'the 2 s blocks the external test mode runs at');
  assert.ok(config.qbft.requesttimeoutseconds > config.qbft.blockperiodseconds, 'a round times out after its block period');
  assert.ok(config.qbft.epochlength >= 1000);
  for (const fork of ['homesteadBlock', 'byzantiumBlock', 'constantinopleBlock', 'petersburgBlock', 'istanbulBlock', 'berlinBlock', 'londonBlock']) assert.equal(config[fork], 0, fork);
  assert.equal(config.shanghaiTime, 0, 'PUSH0 from genesis');
  assert.equal(config.cancunTime, 0, 'MCOPY from genesis');
  for (const other of ['ethash', 'clique', 'ibft2']) assert.equal(config[other], undefined, `no ${other} beside qbft`);
  assert.equal(config.zeroBaseFee, true, 'free gas');
  assert.equal(genesis.mixHash, BFT_MIX_HASH);
  assert.equal(genesis.difficulty, '0x1');
  assert.ok(BigInt(genesis.gasLimit) >= 15_000_000n, 'block gas limit');
  assert.ok(BigInt(genesis.alloc[expect.deployer.slice(2).toLowerCase()]?.balance ?? 0) > 0n, 'the deployer is funded in genesis');

  // extraData: exactly the validators whose config files are in the directory, identified by their enode.
  const extra = decodeQbftExtraData(genesis.extraData as Hex);
  assert.equal(extra.vanity, `0x${'00'.repeat(32)}`);
  assert.deepEqual([extra.vote, extra.round, extra.seals], [[], '0x', []], 'no vote, round 0, no seals in the genesis block');
  assert.equal(extra.validators.length, 4, 'QBFT tolerates one faulty validator of 4');

  const permissions = parseToml(files['permissions_config.toml']!);
  const nodesAllowlist = strings(permissions['nodes-allowlist']);
  const accountsAllowlist = strings(permissions['accounts-allowlist']).map((a) => getAddress(a));
  for (const enode of nodesAllowlist) assert.match(enode, ENODE);
  assert.equal(new Set(nodesAllowlist).size, nodesAllowlist.length, 'no node twice');
  assert.ok(accountsAllowlist.includes(expect.deployer), 'the deployer may send transactions');
  assert.ok(accountsAllowlist.includes(expect.governor), 'the governor may send transactions');

  const nodeFiles = Object.keys(files).filter((f) => /^config-.+\.toml$/.test(f)).sort();
  const validatorFiles = nodeFiles.filter((f) => f.startsWith('config-validator-'));
  const rpcFiles = nodeFiles.filter((f) => f.startsWith('config-rpc-'));
  assert.deepEqual(validatorFiles, ['config-validator-1.toml', 'config-validator-2.toml', 'config-validator-3.toml', 'config-validator-4.toml']);
  assert.ok(rpcFiles.length >= 1, 'one RPC node per provider organisation');
  assert.equal(nodeFiles.length, validatorFiles.length + rpcFiles.length);

  const enodeOf = (node: Record<string, TomlValue>) => {
    const found = nodesAllowlist.filter((e) => e.endsWith(`@${node['p2p-host']}:${node['p2p-port']}`));
    assert.equal(found.length, 1, `exactly one allowlisted enode at ${node['p2p-host']}:${node['p2p-port']}`);
    return found[0]!;
  };
  const validatorEnodes: string[] = [];
  for (const file of nodeFiles) {
    const node = parseToml(files[file]!);
    const enode = enodeOf(node);
    if (validatorFiles.includes(file)) validatorEnodes.push(enode);
    assert.equal(node['min-gas-price'], 0, `${file}: free gas on every node`);
    assert.equal(node['permissions-nodes-config-file-enabled'], true, `${file}: node permissioning`);
    assert.equal(node['permissions-accounts-config-file-enabled'], true, `${file}: account permissioning`);
    assert.equal(node['genesis-file'] !== undefined && node['node-private-key-file'] !== undefined && node['data-path'] !== undefined, true, file);
    for (const boot of strings(node.bootnodes)) {
      assert.ok(nodesAllowlist.includes(boot), `${file}: bootnode ${boot.slice(0, 24)}… must be allowlisted or Besu will not start`);
      assert.notEqual(boot, enode, `${file}: not its own bootnode`);
    }
    const apis = strings(node['rpc-http-api']);
    for (const api of [...apis, ...(node['rpc-ws-api'] === undefined ? [] : strings(node['rpc-ws-api']))]) {
      assert.ok(!['ADMIN', 'DEBUG', 'TRACE', 'MINER', 'PERM', 'TXPOOL', 'PLUGINS'].includes(api), `${file}: exposes ${api}`);
    }
    if (validatorFiles.includes(file)) {
      assert.equal(node['rpc-http-host'], '127.0.0.1', `${file}: a validator answers only its operator`);
      assert.deepEqual(apis, ['ETH', 'NET', 'QBFT']);
      assert.notEqual(node['rpc-ws-enabled'], true, `${file}: no WebSocket service on a validator`);
    } else {
      assert.deepEqual(apis, ['ETH', 'NET', 'WEB3'], `${file}: what the SDK and the manager relay use`);
      assert.ok(!strings(node['host-allowlist']).includes('*'), `${file}: a host allowlist, not every host`);
      // Consent events are read with eth_getLogs from the deploy block; Besu's default refuses over 5,000 blocks.
      assert.equal(node['rpc-max-logs-range'], 0, `${file}: eth_getLogs over the contract's whole history`);
    }
  }
  assert.deepEqual(
    [...extra.validators].sort(),
    validatorEnodes.map(enodeAddress).sort(),
    'extraData lists exactly the validators whose node keys the validator configs use',
  );
  return { extra, nodesAllowlist, accountsAllowlist };
}

test('QBFT extraData: the example in the Besu documentation decodes, and its validators encode back to it', () => {
  // https://besu.hyperledger.org/private-networks/how-to/configure/consensus/qbft (genesis file, block header validator selection)
  const documented: Hex =
    '0xf87aa00000000000000000000000000000000000000000000000000000000000000000f8549464a702e6263b7297a96638cac6ae65e6541f4169943923390ad55e90c237593b3b0e401f3b08a0318594aefdb9a738c9f433e5b6b212a6d62f6370c2f69294c7eeb9a4e00ce683cf93039b212648e01c6c6b78c080c0';
  const decoded = decodeQbftExtraData(documented);
  assert.deepEqual(
    decoded.validators.map((v) => v.toLowerCase()),
    ['0x64a702e6263b7297a96638cac6ae65e6541f4169', '0x3923390ad55e90c237593b3b0e401f3b08a03185', '0xaefdb9a738c9f433e5b6b212a6d62f6370c2f692', '0xc7eeb9a4e00ce683cf93039b212648e01c6c6b78'],
  );
  assert.equal(encodeQbftExtraData(decoded.validators), documented);
  assert.throws(() => decodeQbftExtraData('0xc3010203'), /5 fields/);
});

test('the committed example network: genesis, permissioning and node files agree', () => {
  const { plan } = exampleNetwork();
  const { accountsAllowlist } = checkNetwork(readNetworkFiles(BESU_DIR), { deployer: plan.deployer, governor: plan.governor });
  for (const account of plan.accounts) assert.ok(accountsAllowlist.includes(account), 'each provider account may send transactions');
  for (const text of Object.values(readNetworkFiles(BESU_DIR)).filter((t) => !t.startsWith('{'))) assert.match(text, /^# EXAMPLE ONLY/, 'marked as an example');
});

test('the committed example is exactly what `generate.ts --example` writes (no hand edits that drift)', () => {
  const dir = tempDir('medledger-besu-example-');
  try {
    const written = writeExample(dir);
    const committed = readNetworkFiles(BESU_DIR);
    assert.deepEqual(Object.keys(committed).sort(), [...written].sort());
    for (const f of written) assert.equal(committed[f], readFileSync(join(dir, f), 'utf8'), `${f} differs: run node --import tsx deploy/besu/generate.ts --example`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the genesis enables the EVM version the contracts are compiled for', () => {
  const { evmVersion } = settings;
  // Besu milestone that first allows each EVM version solc can target here.
  const milestone: Record<string, string> = { london: 'londonBlock', paris: 'londonBlock', shanghai: 'shanghaiTime', cancun: 'cancunTime' };
  assert.ok(evmVersion && milestone[evmVersion], `evmVersion ${evmVersion} has a Besu milestone in this table`);
  const genesis = JSON.parse(readFileSync(join(BESU_DIR, 'genesis.json'), 'utf8')) as { config: Record<string, unknown> };
  assert.equal(genesis.config[milestone[evmVersion]!], 0, `${milestone[evmVersion]} at genesis for ${evmVersion} bytecode`);
});

test('generate.ts: new keys into a directory outside the repository, files that pass the same checks', () => {
  const dir = tempDir('medledger-besu-');
  try {
    const governor = privateKeyToAccount(`0x${'11'.repeat(32)}`).address;
    const network = generateNetwork({
      chainId: 99_001,
      validators: ['A', 'B', 'C', 'D'].map((o, i) => ({ name: `Org ${o}`, host: `10.0.0.${i + 1}` })),
      providers: [{ name: 'Hospital One', host: '10.0.1.1', clients: ['gk.hospital-one.internal'] }],
      governor,
    });
    const written = writeNetwork(dir, network);
    assert.ok(written.includes('keys/validator-1/key') && written.includes('keys/rpc-hospital-one/key') && written.includes('keys/deployer/key'));
    const checked = checkNetwork(readNetworkFiles(dir), { deployer: network.plan.deployer, governor });

    // Each key on disk is the one whose address or enode the public files carry, and only its owner reads it.
    for (let n = 1; n <= 4; n++) {
      const keyFile = join(dir, 'keys', `validator-${n}`, 'key');
      if (process.platform !== 'win32') assert.equal(statSync(keyFile).mode & 0o077, 0, `${keyFile} is owner-only`);
      const address = privateKeyToAccount(readFileSync(keyFile, 'utf8') as Hex).address;
      assert.ok(checked.extra.validators.includes(address), `validator-${n}'s key is a genesis validator`);
    }
    const rpcKey = readFileSync(join(dir, 'keys', 'rpc-hospital-one', 'key'), 'utf8') as Hex;
    assert.ok(checked.nodesAllowlist.some((e) => enodeAddress(e) === privateKeyToAccount(rpcKey).address), 'the RPC node is allowlisted');
    assert.equal(privateKeyToAccount(readFileSync(join(dir, 'keys', 'deployer', 'key'), 'utf8') as Hex).address, network.plan.deployer);
    assert.equal(JSON.parse(readFileSync(join(dir, 'genesis.json'), 'utf8')).config.chainId, 99_001);

    // Fresh keys every time, and never into the repository.
    const again = generateNetwork({ validators: network.plan.validators.map((v) => ({ name: v.organisation, host: v.host })), providers: [{ name: 'x', host: '10.0.1.2' }] });
    assert.notEqual(again.plan.validators[0]!.address, network.plan.validators[0]!.address);
    assert.throws(() => writeNetwork(join(REPO, 'deploy', 'besu', 'keys-here'), again), /inside the repository/);
    assert.ok(!existsSync(join(REPO, 'deploy', 'besu', 'keys-here')));
    assert.throws(() => generateNetwork({ validators: network.plan.validators.slice(0, 3).map((v) => ({ name: v.organisation, host: v.host })), providers: [{ name: 'x', host: '10.0.1.2' }] }), /4 validators/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the TOML reader: the subset Besu files use, and a refusal outside it', () => {
  assert.deepEqual(parseToml('# c\na=1\nb="x\\"y" # tail\nc=[\n  "p",\n  "q",\n]\nd=true\ne=[]\n'), { a: 1, b: 'x"y', c: ['p', 'q'], d: true, e: [] });
  assert.throws(() => parseToml('[table]\na=1\n'), /key=value/);
  assert.throws(() => parseToml('a=1\na=2\n'), /duplicate/);
  assert.throws(() => parseToml('a=1.5\n'), /unsupported value|end of line/);
});
