/**
 * package.json's `engines.node` is a promise: every Node version it admits runs the project. It only
 * holds if every installed package admits those versions too, so the lowest version of each
 * alternative (`^20.19.0 || ^22.13.0 || >=24.0.0` → 20.19.0, 22.13.0, 24.0.0) and the Node running
 * this test are checked against every installed package's own `engines.node` — the check behind
 * npm's EBADENGINE warning, made for the versions we declare rather than only the one at hand. A
 * dependency that raises its floor fails here, not on a user's machine.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');

// semver is present as a transitive dependency (fastify, solc); every major has `satisfies`.
const semver = createRequire(import.meta.url)('semver') as { satisfies(version: string, range: string): boolean };

interface Manifest {
  name?: string;
  version?: string;
  engines?: { node?: string };
}

const readManifest = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Manifest;

/** Every installed package folder under `dir` (a node_modules), scoped and nested ones included. */
function installed(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (!entry.isDirectory() || entry.name.startsWith('.')) return [];
    const path = join(dir, entry.name);
    if (entry.name.startsWith('@')) return installed(path);
    if (!existsSync(join(path, 'package.json'))) return [];
    const nested = join(path, 'node_modules');
    return [path, ...(existsSync(nested) ? installed(nested) : [])];
  });
}

/** The lowest version of each alternative of a `^X.Y.Z || >=X.Y.Z` range. */
function floors(range: string): string[] {
  return range.split('||').map((part) => {
    const m = /^\s*(?:\^|>=\s*)(\d+)(?:\.(\d+))?(?:\.(\d+))?\s*$/.exec(part);
    assert.ok(m, `engines.node alternative "${part.trim()}" is not of the form ^X.Y.Z or >=X.Y.Z`);
    return `${m[1]}.${m[2] ?? 0}.${m[3] ?? 0}`;
  });
}

const declared = readManifest(join(REPO, 'package.json')).engines?.node;

test('floors reads the lowest version of each alternative', () => {
  assert.deepEqual(floors('^20.19.0 || >=22.12.0'), ['20.19.0', '22.12.0']);
  assert.deepEqual(floors('>=20'), ['20.0.0']);
  assert.deepEqual(floors('>= 18.4'), ['18.4.0']);
  assert.throws(() => floors('20 - 22'));
});

test('the Node running the tests is one package.json declares', () => {
  assert.ok(declared, 'package.json has no engines.node');
  assert.ok(semver.satisfies(process.version, declared), `Node ${process.version} is outside engines.node ${declared}`);
});

test("every installed package's engines.node admits the declared Node versions", () => {
  assert.ok(declared);
  const versions = [...floors(declared), process.version.slice(1)];
  const packages = installed(join(REPO, 'node_modules'));
  assert.ok(packages.length > 100, `only ${packages.length} packages found: is node_modules installed?`);
  const broken = packages.flatMap((dir) => {
    const { name, version, engines } = readManifest(join(dir, 'package.json'));
    const range = engines?.node;
    if (!range) return [];
    const refused = versions.filter((v) => !semver.satisfies(v, range));
    return refused.length ? [`${name}@${version} (${dir.slice(REPO.length + 1)}) wants node ${range}, refuses ${refused.join(', ')}`] : [];
  });
  assert.deepEqual(broken, [], `engines.node ${declared} promises more than these dependencies accept (pin compatible versions or raise engines.node)`);
});
