/**
 * The SDK's names for the contracts' enums (issue 14: enum values come from one place). The ABI
 * carries an enum only as uint8, so STATUSES and ROLES are the TypeScript side of MedLedger.Status
 * and Registrar.Role: every other module derives a number from them (STATUSES.indexOf('rejected')),
 * and this test keeps them in the Solidity order.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../src/package-root.js';
import { ROLES } from '../src/sdk/registrar.js';
import { STATUSES } from '../src/sdk/relationships.js';

/** The members of `enum name { … }` in a contract, comments dropped, as kebab-case names. */
function solidityEnum(file: string, name: string): string[] {
  const source = readFileSync(join(packageRoot(), 'contracts', file), 'utf8');
  const body = new RegExp(`enum\\s+${name}\\s*\\{([^}]*)\\}`).exec(source)?.[1];
  assert.ok(body, `enum ${name} in ${file}`);
  return body
    .replace(/\/\/\/?[^\n]*/g, '')
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean)
    .map((m) => m.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase());
}

test('STATUSES lists MedLedger.Status in order', () => {
  assert.deepEqual([...STATUSES], solidityEnum('MedLedger.sol', 'Status'));
});

test('ROLES lists Registrar.Role in order', () => {
  assert.deepEqual([...ROLES], solidityEnum('Registrar.sol', 'Role'));
});

test('no module of src/ spells a status or role as a number', () => {
  const offenders: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'generated' && entry.name !== 'node_modules') walk(path);
      } else if (/\.tsx?$/.test(entry.name)) {
        const text = readFileSync(path, 'utf8');
        for (const m of text.matchAll(/\b(NONE|NEW|UPDATED|AWAITING_APPROVAL|ACCEPTED|REJECTED|PATIENT|PROVIDER|CONTROLLER)\s*=\s*\d+\b/g)) offenders.push(`${path}: ${m[0]}`);
      }
    }
  };
  walk(join(packageRoot(), 'src'));
  assert.deepEqual(offenders, []);
});
