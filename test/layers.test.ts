/**
 * The direction of imports (issue 14 §2), checked by dependency-cruiser with the rules in
 * .dependency-cruiser.cjs: a wrong-way import fails `npm test`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { cruise, type IConfiguration, type ICruiseResult } from 'dependency-cruiser';

const rules = createRequire(import.meta.url)('../.dependency-cruiser.cjs') as IConfiguration;

async function violationsOf(paths: string[]): Promise<string[]> {
  const result = (await cruise(paths, { validate: true, ruleSet: rules, ...rules.options })).output as ICruiseResult;
  assert.ok(result.summary.totalCruised > 0, 'dependency-cruiser read no module');
  return result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
}

test('every import in src/, bench/ and scripts/ follows the layer rules', async () => {
  assert.deepEqual(await violationsOf(['src', 'bench', 'scripts']), []);
});

test('the rules bite: a module of the SDK that imported the gatekeeper would be refused', async () => {
  const layer = rules.forbidden?.find((r) => r.name === 'layer-sdk') as { from: { path: string }; to: { pathNot: string[] } } | undefined;
  assert.ok(layer, 'no layer rule for src/sdk');
  const allowed = new RegExp(layer.to.pathNot.join('|'));
  assert.match('src/sdk/gatekeeper.ts', new RegExp(layer.from.path));
  assert.doesNotMatch('src/gatekeeper/http/server.ts', allowed, 'src/sdk may import the gatekeeper');
  assert.match('src/protocol/request-signature.ts', allowed);
});
