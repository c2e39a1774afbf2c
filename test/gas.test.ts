/**
 * Gas per flow step (gas is deterministic, so this is a plain test): within issue 14's targets where
 * the layout reaches them (GAS_TARGETS_OPEN says why not elsewhere, and issue 3's targets hold there),
 * and no step more expensive than before issue 14.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GAS_BEFORE_ISSUE_14, GAS_TARGETS, GAS_TARGETS_OPEN, ISSUE_3_TARGETS, measureGas } from '../bench/gas.js';

test('every flow step is within its gas target, and none got more expensive', async (t) => {
  const gas = await measureGas();
  t.diagnostic(JSON.stringify(gas));
  for (const [op, target] of Object.entries(GAS_TARGETS)) {
    const name = op as keyof typeof GAS_TARGETS;
    const used = gas[name];
    const limit = GAS_TARGETS_OPEN[name] ? ISSUE_3_TARGETS[name] : target;
    assert.ok(used > 21_000 && used <= limit, `${op}: ${used} gas, target ≤ ${limit}`);
  }
  for (const [op, before] of Object.entries(GAS_BEFORE_ISSUE_14)) {
    const used = gas[op as keyof typeof GAS_BEFORE_ISSUE_14];
    assert.ok(used <= before, `${op}: ${used} gas, was ${before} before issue 14`);
  }
  // The first relationship of a patient pays for nothing extra in this layout: same target.
  assert.ok(gas.addRelationshipFirst <= GAS_TARGETS.addRelationship, `first relationship: ${gas.addRelationshipFirst}`);
});
