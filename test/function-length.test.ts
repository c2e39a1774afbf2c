/**
 * No function in src/ over 120 lines (issue 14 §2), nested closures counted in their function:
 * a long factory of closures is as hard to review as one long function.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { longFunctions, longFunctionsIn } from '../scripts/function-lengths.js';

const LIMIT = 120;

test(`no function in src/ is over ${LIMIT} lines`, () => {
  const long = longFunctions('src', LIMIT).map((f) => `${f.file}:${f.line} ${f.name} (${f.lines} lines)`);
  assert.deepEqual(long, []);
});

test('the check counts a closure inside its factory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'medledger-length-'));
  try {
    const file = join(dir, 'f.ts');
    const body = Array.from({ length: LIMIT }, (_, i) => `    const v${i} = ${i};`).join('\n');
    writeFileSync(file, `export function factory() {\n  return () => {\n${body}\n  };\n}\n`);
    assert.deepEqual(longFunctionsIn(file, LIMIT).map((f) => f.name), ['factory', '(anonymous)']);
    assert.deepEqual(longFunctionsIn(file, LIMIT + 5), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
