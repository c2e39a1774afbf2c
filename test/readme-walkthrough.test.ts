/**
 * The README's CLI walkthrough ("The flow"), exactly as written: every line of its ```sh block runs in
 * a shell from the repository root, `medledger` being the compiled binary, against a running
 * `medledger start --demo`, and exits 0. Afterwards every pointer of the patient carries the hash of
 * what the gatekeeper returns for its query — the check the patient's Timeline makes ("matches the
 * chain"), which the walkthrough's `add-record --data` once broke by hashing a file it never stored.
 * The last line, `medledger reset --yes`, runs after Ctrl-C, as the README says.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Bundle, Observation, Resource } from '@medplum/fhirtypes';
import type { Address, Hex } from 'viem';
import { tempDir } from '../bench/harness/chain.js';
import { unlockUser } from '../src/keys/users.js';
import { announcedGatekeepers } from '../src/manager/gatekeeper-directory.js';
import { hashResultSet, type ResourceLike } from '../src/records/hash.js';
import { gatekeeperClient } from '../src/sdk/gatekeeper.js';
import { binary, cliEnv, cliFailsInOneLine, cliSucceeds, REPO, startCli, type CliResult } from './helpers/cli.js';

const external = !!process.env.MEDLEDGER_RPC_URL;

/** The commands of the README's walkthrough block (the ```sh block starting `medledger identity lookup`), comments left out. */
function walkthrough(): string[] {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const block = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.startsWith('medledger identity lookup'));
  assert.ok(block, 'the README has the CLI walkthrough block');
  return block.split('\n').filter((line) => line.trim() && !line.trim().startsWith('#'));
}

/** One README line in a shell, as pasted into a terminal in the repository root, with only its leading `medledger` replaced. */
function runLine(line: string, env: NodeJS.ProcessEnv): Promise<CliResult> {
  assert.match(line, /^medledger /, line);
  const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(binary())}${line.slice('medledger'.length)}`;
  return new Promise((resolve) => {
    execFile('/bin/sh', ['-c', command], { env, cwd: REPO, timeout: 180_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

interface Pointer {
  query: string;
  dataHash: Hex;
}
interface Relationship {
  provider: Address;
  pointers: Pointer[];
}

const resources = (bundle: Bundle): Resource[] => (bundle.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []));

test('the README CLI walkthrough runs as written, and afterwards every pointer matches what the gatekeeper returns', { skip: external && 'starts its own embedded node', timeout: 900_000 }, async () => {
  const lines = walkthrough();
  assert.equal(lines.at(-1), 'medledger reset --yes', 'the walkthrough ends by resetting');
  const dataDir = tempDir('medledger-readme-');
  const env = cliEnv(dataDir);
  const system = await startCli(env, ['--patients', '2']);
  let stopped: number | null;
  try {
    const outputs: [string, string][] = [];
    for (const line of lines.slice(0, -1)) {
      const r = await runLine(line, env);
      assert.equal(r.code, 0, `${line}\n${r.stdout}${r.stderr}`);
      outputs.push([line, r.stdout]);
    }
    const outputOf = (command: string) => outputs.find(([line]) => line.includes(command))?.[1] ?? '';
    assert.match(outputOf('provider add-record'), /^Stored 3 records for Alice \(patient\) at St Mary's Hospital/m);
    assert.match(outputOf('provider add-record'), /^Lab results\s+Observation\?category=laboratory\s+(updated|added)\s/m);
    assert.match(outputOf('provider verify'), /^Every pointer to the records of Alice \(patient\) at St Mary's Hospital matches/m);

    // Refusals are one line and store nothing; a query broader than any pointer gets its own, hashed from the store.
    const labs = 'examples/labs.json';
    const bad = join(dataDir, 'bad-labs.json');
    const file = JSON.parse(readFileSync(join(REPO, labs), 'utf8')) as Bundle;
    writeFileSync(bad, JSON.stringify({ ...file, entry: [...file.entry!, { resource: { ...file.entry![0]!.resource, status: 'done' } }] }));
    const add = ['--as', 'st-marys', 'provider', 'add-record', '--patient', 'alice'];
    await cliFailsInOneLine([...add, '--query', 'Observation', '--data', bad], env, /record 4 \(Observation\) is not valid FHIR R4: .*"done".*\(Observation\.status\)/, { quiet: true });
    await cliFailsInOneLine([...add, '--query', 'Observation?category=vital-signs', '--data', labs], env, /record 1 \(Observation\) is not within Observation\?category=vital-signs: its category is laboratory/, { quiet: true });
    const broader = JSON.parse((await cliSucceeds(['--json', ...add, '--query', 'Observation', '--data', labs], env)).stdout) as { stored: string[]; pointers: (Pointer & { change: string })[] };
    assert.equal(broader.stored.length, 3);
    assert.equal(broader.pointers.find((p) => p.query === 'Observation')?.change, 'added');
    assert.equal(broader.pointers.find((p) => p.query === 'Observation?category=laboratory')?.change, 'updated');

    // Every pointer of Alice, at both providers, against what each gatekeeper returns to her for its query (as her Timeline checks).
    const { chainId } = JSON.parse((await cliSucceeds(['--json', 'status'], env)).stdout) as { chainId: number };
    const summary = JSON.parse((await cliSucceeds(['--json', '--as', 'alice', 'patient', 'list'], env)).stdout) as { relationships: Relationship[] };
    const alice = unlockUser(dataDir, 'alice');
    const urls = announcedGatekeepers(dataDir);
    assert.equal(summary.relationships.length, 2);
    for (const rel of summary.relationships) {
      const gk = gatekeeperClient({ url: urls.get(rel.provider)!, gatekeeper: rel.provider, chainId, account: alice });
      assert.ok(rel.pointers.length > 0);
      for (const p of rel.pointers) {
        const read = await gk.get<Bundle>(`/fhir/R4/${p.query}${p.query.includes('?') ? '&' : '?'}_count=1000`);
        assert.equal(hashResultSet(resources(read.body) as ResourceLike[]), p.dataHash, `${p.query} at ${rel.provider} does not match the chain`);
      }
    }
    // What add-record stored is there, as Alice's: the file's three LOINC-coded results, under her Patient.
    const stMarys = summary.relationships.find((r) => r.pointers.some((p) => p.query === 'Observation'))!;
    const gk = gatekeeperClient({ url: urls.get(stMarys.provider)!, gatekeeper: stMarys.provider, chainId, account: alice });
    const stored = resources((await gk.get<Bundle>(`/fhir/R4/Observation?_id=${broader.stored.map((s) => s.split('/')[1]).join(',')}`)).body) as Observation[];
    assert.deepEqual(stored.map((o) => o.code?.coding?.[0]?.code).sort(), ['2093-3', '2345-7', '4548-4']);
    const me = resources((await gk.get<Bundle>('/fhir/R4/Patient')).body)[0]!;
    for (const o of stored) assert.equal(o.subject?.reference, `Patient/${me.id}`);
  } finally {
    stopped = await system.stop();
  }
  assert.equal(stopped, 0, system.output());
  const reset = await runLine(lines.at(-1)!, env);
  assert.equal(reset.code, 0, reset.stderr);
  assert.equal(existsSync(dataDir), false);
});
