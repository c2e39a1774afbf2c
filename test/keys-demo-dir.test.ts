/**
 * Stored passwords (issue 14 §4): only a demo data directory keeps them, it says so, and nowhere else
 * is a stored password used — a users.json that holds one (an old demo directory, a copied file)
 * unlocks nothing without the password typed in.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../bench/harness/chain.js';
import { DEMO_SCRYPT_N } from '../src/chain/runtime.js';
import { createUser, demoPasswordOf, findUser, isDemoDataDir, unlockUser } from '../src/keys/users.js';

test('a real user\'s password is stored nowhere and always has to be given', () => {
  const dir = tempDir('medledger-keys-');
  const made = createUser(dir, { name: 'northgate', role: 'provider', password: 'typed-by-a-person', scryptN: DEMO_SCRYPT_N });
  assert.equal(isDemoDataDir(dir), false);
  assert.ok(!readFileSync(join(dir, 'users.json'), 'utf8').includes('typed-by-a-person'));
  assert.throws(() => unlockUser(dir, 'northgate'), /^Error: user "northgate" needs a password \(--password or MEDLEDGER_PASSWORD\)$/);
  assert.equal(unlockUser(dir, 'northgate', 'typed-by-a-person').address, made.address);
  rmSync(dir, { recursive: true, force: true });
});

test('a demo password marks the directory as a demo one; outside one a stored password is never used', () => {
  const dir = tempDir('medledger-keys-');
  const made = createUser(dir, { name: 'alice', role: 'patient', password: 'demo-pass', demoPassword: 'demo-pass', scryptN: DEMO_SCRYPT_N });
  assert.equal(isDemoDataDir(dir), true);
  assert.match(readFileSync(join(dir, 'demo.json'), 'utf8'), /DEMO data directory/);
  assert.equal(unlockUser(dir, 'alice').address, made.address, 'the demo CLI acts as its demo users without asking');

  // The same users.json without the mark (a directory from before, or a copied file): no fallback.
  rmSync(join(dir, 'demo.json'));
  assert.equal(demoPasswordOf(dir, findUser(dir, 'alice')), undefined);
  assert.throws(() => unlockUser(dir, 'alice', undefined, '--attester-password'), /needs a password \(--attester-password\)/);
  rmSync(dir, { recursive: true, force: true });
});
