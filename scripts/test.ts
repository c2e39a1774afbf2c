/**
 * `npm test`: every test file on the embedded chain and PGlite; then, when
 * MEDLEDGER_TEST_DATABASE_URL is set (CI starts PostgreSQL), the store and gatekeeper files again on
 * PostgreSQL — the same suite on both databases. With MEDLEDGER_TEST_EXTERNAL=1 (CI sets it) the
 * external-node suite (`npm run test:external`: a separate anvil with 2 s blocks behind an eth_-only
 * RPC) runs alongside: it mostly waits for blocks, so it fits beside the rest on two cores; its
 * output is printed once it ends. Ends with one combined "N passed, N failed" line.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';

const all = readdirSync('test').filter((f) => f.endsWith('.test.ts')).sort().map((f) => `test/${f}`);
const onDatabase = all.filter((f) => /\/(records|gatekeeper|fhir-transaction)[-.]/.test(f));
const only = process.argv.slice(2);

function run(label: string, files: string[], env: NodeJS.ProcessEnv): Promise<{ pass: number; fail: number; code: number }> {
  console.log(`\n=== ${label}: ${files.length} files`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      process.stdout.write(d);
      out = (out + d.toString()).slice(-4000);
    });
    child.on('exit', (code) => {
      const count = (name: string) => Number(new RegExp(`^# ${name} (\\d+)`, 'm').exec(out)?.[1] ?? 0);
      resolve({ pass: count('pass'), fail: count('fail'), code: code ?? 1 });
    });
  });
}

/** scripts/test-external.ts in a child process, its output kept until the end. */
function runExternal(env: NodeJS.ProcessEnv): Promise<{ pass: number; fail: number; code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/test-external.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      const m = /^(\d+) passed, (\d+) failed/m.exec(out);
      resolve({ pass: Number(m?.[1] ?? 0), fail: Number(m?.[2] ?? 0), code: code ?? 1, out });
    });
  });
}

const { MEDLEDGER_TEST_DATABASE_URL: pgUrl, MEDLEDGER_TEST_EXTERNAL: withExternal, ...base } = process.env;
const external = withExternal === '1' && !only.length ? runExternal({ MEDLEDGER_EXTERNAL_CONCURRENCY: '3', ...base }) : undefined;
if (external) console.log('(the external-node suite runs alongside; its output follows at the end)');
const runs = [await run('PGlite', only.length ? only : all, base)];
if (pgUrl) {
  const files = only.length ? only.filter((f) => onDatabase.includes(f)) : onDatabase;
  if (files.length) runs.push(await run('PostgreSQL', files, { ...base, MEDLEDGER_TEST_DATABASE_URL: pgUrl }));
} else {
  console.log('\n(MEDLEDGER_TEST_DATABASE_URL not set: the PostgreSQL run is skipped; .ci/run sets it)');
}
if (external) {
  const e = await external;
  console.log(`\n=== external node (2 s blocks, eth_ RPC only)\n${e.out}`);
  runs.push(e);
}
const pass = runs.reduce((n, r) => n + r.pass, 0);
const fail = runs.reduce((n, r) => n + r.fail, 0);
console.log(`\n${pass} passed, ${fail} failed`);
process.exitCode = runs.some((r) => r.code !== 0) || fail > 0 ? 1 : 0;
