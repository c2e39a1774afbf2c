/**
 * Gas per flow step stays within the targets (gas is deterministic, so this is a plain test).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GAS_TARGETS, measureGas } from '../bench/gas.js';

test('every flow step is within its gas target', async (t) => {
  const gas = await measureGas();
  t.diagnostic(JSON.stringify(gas));
  for (const [op, target] of Object.entries(GAS_TARGETS)) {
    const used = gas[op as keyof typeof GAS_TARGETS];
    assert.ok(used > 21_000 && used <= target, `${op}: ${used} gas, target ≤ ${target}`);
  }
  // The first relationship of a patient pays for nothing extra in this layout: same target.
  assert.ok(gas.addRelationshipFirst <= GAS_TARGETS.addRelationship, `first relationship: ${gas.addRelationshipFirst}`);
});
