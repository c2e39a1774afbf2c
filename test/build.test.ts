/**
 * The compiled runtime (scripts/build-dist.ts → dist/src, run by bin/medledger.js): the command says
 * how to fix a missing build instead of a module-not-found trace, and file lookups made from the
 * compiled modules land where they do from src/ (dist/src sits one folder deeper than src/).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { buildDist } from '../scripts/build-dist.js';
import { packageRoot } from '../src/package-root.js';
import { REPO } from './helpers/cli.js';

function run(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

test('medledger without a build says to run npm run build', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'medledger-nobuild-'));
  try {
    mkdirSync(join(dir, 'bin'));
    copyFileSync(join(REPO, 'bin', 'medledger.js'), join(dir, 'bin', 'medledger.js'));
    const r = await run([join(dir, 'bin', 'medledger.js'), '--help'], dir);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^medledger: .*dist\/src.* missing: run npm run build\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the package root is the same from src/ and from the compiled dist/src', async () => {
  buildDist({ lenient: true });
  assert.equal(packageRoot(), REPO);
  const compiled = pathToFileURL(join(REPO, 'dist', 'src', 'package-root.js')).href;
  const r = await run(['--input-type=module', '-e', `console.log((await import(${JSON.stringify(compiled)})).packageRoot())`], REPO);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), packageRoot());
});

test('the compiled CLI runs on plain node, no TypeScript loader', async () => {
  buildDist({ lenient: true });
  // --help loads main.js and every module it imports; a .ts import would fail here (no tsx).
  const r = await run([join(REPO, 'bin', 'medledger.js'), '--help'], REPO);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Usage: medledger /);
  // `start`, `gatekeeper` and `provider-site` load theirs only when run (src/cli/main.ts): load those too.
  for (const lazy of ['cli/start.js', 'gatekeeper/index.js', 'manager/provider-site.js']) {
    const url = pathToFileURL(join(REPO, 'dist', 'src', lazy)).href;
    const l = await run(['--input-type=module', '-e', `await import(${JSON.stringify(url)})`], REPO);
    assert.equal(l.code, 0, `${lazy}: ${l.stderr}`);
  }
});
