/**
 * Privacy of the whole demo (issue 7): `medledger start` (its real console output captured), then
 * the system in this process with 3 generated patients per provider, the demo patients' consent
 * steps (accept, reject, grant, a third party's read through the gatekeeper, revoke), audit roots
 * anchored, and the seed flow on the same chain. Then:
 * - every transaction and every event log from block 0 is decoded: each value must be an address, a
 *   hash, a number, a flag or an on-chain-safe query, and no value or raw byte string may hold any
 *   text of the stored FHIR resources (names, birth dates, identifiers, codes, free text);
 * - keystores are scrypt v3; no private key appears in any output or any file, and passwords only
 *   where the demo keeps them (users.json, the start banner);
 * - the data directory, keys/ and the stores are owner-only (0700), key and password files 0600.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import type { Resource } from '@medplum/fhirtypes';
import { decodeEventLog, decodeFunctionData, type Hex } from 'viem';
import { medLedgerAbi, modelRegistryAbi, studyRegistryAbi } from '../src/chain/generated/contracts.js';
import { CATEGORIES, parsePointerQuery } from '../src/protocol/pointer-query.js';
import type { RunningGatekeeper } from '../src/gatekeeper/run.js';
import { decryptKeystore, type KeystoreV3 } from '../src/keys/keystore.js';
import { loadUsers, unlockUser } from '../src/keys/users.js';
import { startSystem, type RunningSystem } from '../src/manager/system.js';
import { sql } from '../src/records/sql.js';
import { createLedgerClient, grantViewer, readSummary, respond, revokeViewer } from '../src/sdk/index.js';
import { gatekeeperClient } from '../src/sdk/gatekeeper.js';
import { fixtureOn, tempDir, testConfig } from '../bench/harness/chain.js';
import { cliEnv, startCli } from './helpers/cli.js';
import { IDENTITY, PHI, seedFlow } from './helpers/flow.js';

const external = !!process.env.MEDLEDGER_RPC_URL;
const dataDir = tempDir('medledger-privacy-');
/** Everything printed: the CLI's output, the system's log lines, and this process's stdout/stderr meanwhile. */
let output = '';
let banner = '';
let system: RunningSystem | undefined;
let setup = '';

before(async () => {
  if (external) return;
  const t0 = performance.now();
  // As if the user had made the directory themselves, readable by all: start must tighten it.
  chmodSync(dataDir, 0o755);
  // The real command first: its banner is what a user sees (and pastes into bug reports).
  const cli = await startCli(cliEnv(dataDir), ['--chain-only']);
  cli.child.kill('SIGINT');
  await once(cli.child, 'exit');
  banner = cli.output();
  output += banner;

  const capture = (stream: NodeJS.WriteStream) => {
    const write = stream.write.bind(stream);
    stream.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      output += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
      return write(chunk, ...rest);
    }) as typeof stream.write;
    return () => (stream.write = write);
  };
  const restore = [capture(process.stdout), capture(process.stderr)];
  try {
    const cfg = { ...testConfig(dataDir), port: 0, gatekeeperPort: 0 };
    system = await startSystem(cfg, { patients: 3, researchSites: false, providerProcesses: false, log: (line) => (output += `${line}\n`) });
    await demoFlow(system);
    await seedFlow(fixtureOn(system.runtime, cfg));
    for (const gk of system.gatekeepers.values()) await gk.anchor();
  } finally {
    for (const r of restore) r();
  }
  setup = `demo, flows and anchoring took ${((performance.now() - t0) / 1000).toFixed(0)} s`;
});
after(async () => {
  await system?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** The demo patients' consent steps, a third party's read through the gatekeeper, and a revoke. */
async function demoFlow(s: RunningSystem): Promise<void> {
  const client = (name: string) => createLedgerClient(s.runtime.deployment, { account: unlockUser(dataDir, name) });
  const alice = client('alice');
  const bob = client('bob');
  const carol = unlockUser(dataDir, 'carol');
  const [stMarys, cityLab] = [s.gatekeepers.get('st-marys')!, s.gatekeepers.get('city-lab')!];
  const aliceRels = (await readSummary(alice, alice.account!.address)).relationships;
  const bobRels = (await readSummary(bob, bob.account!.address)).relationships;
  assert.ok(aliceRels.length >= 1 && bobRels.length >= 1, 'the demo published pointers to both demo patients');
  const atStMarys = aliceRels.find((r) => r.provider.toLowerCase() === stMarys.chain.provider.toLowerCase())!;
  await respond(alice, { relationshipId: BigInt(atStMarys.id), accept: true });
  const other = bobRels.find((r) => r.provider.toLowerCase() === cityLab.chain.provider.toLowerCase()) ?? bobRels[0]!;
  await respond(bob, { relationshipId: BigInt(other.id), accept: false });

  const scope = atStMarys.pointers.find((p) => p.query.includes('?category='))?.query ?? atStMarys.pointers[0]!.query;
  const grant = { relationshipId: BigInt(atStMarys.id), viewer: carol.address, scope };
  await grantViewer(alice, { ...grant, expiresAt: Math.floor(Date.now() / 1000) + 3600, pointers: atStMarys.pointers.map((p) => p.query) });
  const reader = gatekeeperClient({ url: stMarys.url, gatekeeper: stMarys.chain.provider, chainId: alice.chainId, account: carol });
  const type = scope.split('?')[0]!;
  const read = await reader.get<{ total: number }>(`/fhir/R4/${type}`);
  assert.ok(read.body.total > 0, 'the third party read some of what was granted');
  await revokeViewer(alice, grant);
}

/** Every string in the stored FHIR resources that must never reach the chain. */
async function forbiddenTokens(gatekeepers: Iterable<RunningGatekeeper>): Promise<Set<string>> {
  // What may legitimately be on chain: resource types and category codes of the query grammar.
  const allowed = new Set<string>([...Object.keys(CATEGORIES), ...Object.values(CATEGORIES).flat()]);
  const tokens = new Set<string>([...PHI, IDENTITY]);
  const collect = (value: unknown) => {
    if (typeof value === 'string') {
      if (value.length > 3 && !allowed.has(value) && !/^(https?|urn):/.test(value)) tokens.add(value);
    } else if (Array.isArray(value)) value.forEach(collect);
    else if (value && typeof value === 'object') Object.values(value).forEach(collect);
  };
  for (const gk of gatekeepers) {
    for (const row of await gk.db.query<{ content: Resource | string }>(sql`SELECT content FROM resources`)) {
      collect(typeof row.content === 'string' ? JSON.parse(row.content) : row.content);
    }
  }
  return tokens;
}

const textOf = (hex: Hex) => {
  const bytes = Buffer.from(hex.slice(2), 'hex');
  return [bytes.toString('latin1'), bytes.toString('utf8')];
};

test('no transaction or event of the whole demo holds PHI or anything but addresses, hashes, numbers and safe queries', { skip: external && 'runs the embedded demo' }, async (t) => {
  const s = system!;
  const forbidden = await forbiddenTokens(s.gatekeepers.values());
  assert.ok(forbidden.size > 100, `${forbidden.size} forbidden strings from the stored records`);
  // Long tokens are searched in raw bytes too (a 6-byte match in random hashes is a 2^-48 chance).
  const rawForbidden = [...forbidden].filter((t) => t.length >= 6);
  const pepper = readFileSync(join(dataDir, 'identity-pepper'), 'utf8').trim().replace(/^0x/, '').toLowerCase();
  const pc = createLedgerClient(s.runtime.deployment, {}).publicClient;
  const latest = await pc.getBlockNumber();
  const counts = { blocks: 0, txs: 0, calls: 0, logs: 0, strings: 0, modelLogs: 0, studyLogs: 0 };
  const functions = new Set<string>();

  /** Every decoded value: a number, a flag, an address, a hash, hex bytes without PHI, or a safe query. */
  const checkValue = (value: unknown, where: string): void => {
    if (typeof value === 'bigint' || typeof value === 'number' || typeof value === 'boolean') return;
    if (Array.isArray(value)) return value.forEach((v, i) => checkValue(v, `${where}[${i}]`));
    if (value && typeof value === 'object') return Object.entries(value).forEach(([k, v]) => checkValue(v, `${where}.${k}`));
    assert.equal(typeof value, 'string', `${where}: ${String(value)}`);
    const text = value as string;
    if (/^0x[0-9a-fA-F]{40}$/.test(text) || /^0x[0-9a-fA-F]{64}$/.test(text)) {
      assert.ok(!text.toLowerCase().includes(pepper), `${where} is the identity pepper`);
      return;
    }
    if (/^0x([0-9a-fA-F]{2})*$/.test(text)) {
      // Dynamic bytes (an attestation signature): no text inside.
      for (const t of textOf(text as Hex)) for (const word of forbidden) assert.ok(!t.includes(word), `${where} holds "${word}"`);
      return;
    }
    counts.strings++;
    for (const word of forbidden) assert.ok(!text.includes(word), `${where}: "${text}" holds "${word}"`);
    assert.doesNotThrow(() => parsePointerQuery(text), `${where}: "${text}" is not an on-chain-safe query`);
  };
  // ModelRegistry records: hashes, addresses, counts and a model name/version — never a patient's data.
  const checkModelValue = (value: unknown, where: string): void => {
    if (Array.isArray(value)) return value.forEach((v, i) => checkModelValue(v, `${where}[${i}]`));
    if (value && typeof value === 'object') return Object.entries(value).forEach(([k, v]) => checkModelValue(v, `${where}.${k}`));
    if (typeof value !== 'string') return;
    assert.ok(!value.toLowerCase().includes(pepper), `${where} is the identity pepper`);
    for (const word of forbidden) assert.ok(!value.includes(word), `${where}: "${value}" holds "${word}"`);
  };
  const scanRaw = (hex: Hex, where: string) => {
    for (const t of textOf(hex)) for (const word of rawForbidden) assert.ok(!t.includes(word), `${where} contains "${word}"`);
    assert.ok(!hex.toLowerCase().includes(pepper), `${where} contains the identity pepper`);
  };

  // Blocks and receipts fetched 25 at a time; checked in order.
  for (let first = 0n; first <= latest; first += 25n) {
    const numbers = Array.from({ length: Number(latest - first + 1n < 25n ? latest - first + 1n : 25n) }, (_, i) => first + BigInt(i));
    const blocks = await Promise.all(numbers.map((blockNumber) => pc.getBlock({ blockNumber, includeTransactions: true })));
    const receipts = await Promise.all(blocks.flatMap((b) => b.transactions.map((tx) => pc.getTransactionReceipt({ hash: tx.hash }))));
    let r = 0;
    for (const block of blocks) {
      counts.blocks++;
      scanRaw(block.extraData, `extraData of block ${block.number}`);
      for (const tx of block.transactions) {
        const receipt = receipts[r++]!;
        counts.txs++;
        scanRaw(tx.input, `input of ${tx.hash}`);
        if (tx.to?.toLowerCase() === s.runtime.deployment.contract.toLowerCase()) {
          const call = decodeFunctionData({ abi: medLedgerAbi, data: tx.input });
          counts.calls++;
          functions.add(call.functionName);
          checkValue(call.args ?? [], `${call.functionName}(…) in ${tx.hash}`);
        }
        for (const log of receipt.logs) {
          counts.logs++;
          scanRaw(log.data, `log data in ${tx.hash}`);
          for (const topic of log.topics) scanRaw(topic, `log topic in ${tx.hash}`);
          const from = log.address.toLowerCase();
          if (from === s.runtime.deployment.modelRegistry?.toLowerCase()) {
            // Model provenance (the served models' hashes and consent sets): no query strings, no medical text.
            const event = decodeEventLog({ abi: modelRegistryAbi, data: log.data, topics: log.topics });
            checkModelValue(event.args ?? {}, `${event.eventName} in ${tx.hash}`);
            counts.modelLogs++;
            continue;
          }
          if (from === s.runtime.deployment.studyRegistry?.toLowerCase()) {
            // Research studies (the demo study, its enrolments): a study hash, addresses and numbers only.
            const event = decodeEventLog({ abi: studyRegistryAbi, data: log.data, topics: log.topics });
            checkModelValue(event.args ?? {}, `${event.eventName} in ${tx.hash}`);
            counts.studyLogs++;
            continue;
          }
          assert.equal(from, s.runtime.deployment.contract.toLowerCase(), 'only the three contracts log');
          const event = decodeEventLog({ abi: medLedgerAbi, data: log.data, topics: log.topics });
          checkValue(event.args ?? {}, `${event.eventName} in ${tx.hash}`);
        }
      }
    }
  }
  for (const fn of ['accreditProvider', 'registerPatient', 'addRelationship', 'updatePointer', 'respond', 'grantViewer', 'revokeViewer', 'anchorAudit']) {
    assert.ok(functions.has(fn), `the demo called ${fn} (called: ${[...functions].join(', ')})`);
  }
  assert.ok(counts.calls >= 30 && counts.logs >= 30 && counts.strings >= 10, JSON.stringify(counts));
  assert.ok(counts.studyLogs >= 2, `the demo study's registration and Alice's enrolment were scanned: ${JSON.stringify(counts)}`);
  t.diagnostic(setup);
  t.diagnostic(`${JSON.stringify(counts)}; ${forbidden.size} forbidden strings, ${rawForbidden.length} also searched in raw bytes`);
});

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

test('keystores are scrypt; keys and passwords are nowhere they should not be; the data directory is owner-only', { skip: external && 'runs the embedded demo' }, async () => {
  const users = loadUsers(dataDir);
  assert.ok(users.length >= 6, 'governor and the demo users');
  const secrets: { what: string; text: string }[] = [];
  for (const user of users) {
    const file = join(dataDir, 'keys', `${user.address.toLowerCase()}.json`);
    const keystore = JSON.parse(readFileSync(file, 'utf8')) as KeystoreV3;
    assert.equal(keystore.crypto.kdf, 'scrypt', `${user.name}'s keystore`);
    assert.ok(keystore.crypto.kdfparams.n >= 1 << 14, `${user.name}'s scrypt cost`);
    assert.equal(statSync(file).mode & 0o777, 0o600, `${user.name}'s keystore is 0600`);
    const key = decryptKeystore(keystore, user.demoPassword!);
    secrets.push({ what: `${user.name}'s private key`, text: key.slice(2).toLowerCase() });
    secrets.push({ what: `${user.name}'s password`, text: user.demoPassword! });
  }

  // Output: no private key, ever; demo passwords only on the banner's demo-user lines.
  const lower = output.toLowerCase();
  for (const { what, text } of secrets.filter((s) => s.what.endsWith('key'))) assert.ok(!lower.includes(text), `${what} was printed`);
  const outsideBanner = output.split('\n').filter((line) => !/^\s+\S+\s+\S+\s+0x[0-9a-fA-F]{40}\s+password \S+$/.test(line));
  for (const { what, text } of secrets.filter((s) => s.what.endsWith('password'))) {
    assert.ok(!outsideBanner.some((line) => line.includes(text)), `${what} was printed outside the demo banner`);
  }
  assert.match(banner, /demo users:/);
  assert.ok(output.includes('seeded st-marys'), 'the system log was captured');

  // Files: private keys in none (keystores hold only ciphertext); passwords only in users.json.
  const PASSWORD_FILES = ['users.json'];
  let scanned = 0;
  for (const file of filesUnder(dataDir)) {
    const name = relative(dataDir, file);
    const bytes = readFileSync(file);
    scanned++;
    for (const { what, text: secret } of secrets) {
      if (what.endsWith('password')) {
        if (!PASSWORD_FILES.includes(name)) assert.ok(!bytes.includes(secret), `${name} holds ${what}`);
        continue;
      }
      assert.ok(!bytes.includes(secret) && !bytes.includes(secret.toUpperCase()), `${name} holds ${what} as hex`);
      assert.ok(!bytes.includes(Buffer.from(secret, 'hex')), `${name} holds ${what} as raw bytes`);
    }
  }
  assert.ok(scanned > 20, `${scanned} files scanned`);

  // Permissions: owner-only directories for everything private, 0600 for secrets.
  const mode = (p: string) => statSync(join(dataDir, p)).mode & 0o777;
  for (const dir of ['', 'keys', 'chain', 'providers/st-marys/pgdata', 'providers/city-lab/pgdata', 'manager/pgdata']) {
    assert.equal(mode(dir).toString(8), '700', `${dir || 'the data directory'} is owner-only`);
  }
  for (const file of ['users.json', 'identity-pepper']) assert.equal(mode(file).toString(8), '600', `${file} is 0600`);
  assert.ok(existsSync(join(dataDir, 'chain', 'state.json')));
});
