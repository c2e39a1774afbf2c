/** SMART scopes ↔ on-chain grants (src/consent/smart-grants.ts): what a consent screen can grant, and narrowing that never widens. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseScope, parseScopes } from '../src/consent/smart.js';
import { grantScopeOf, narrowGrants } from '../src/consent/smart-grants.js';

test('a read scope of a type with categories becomes the grant; what the chain cannot say grants nothing', () => {
  const cases: [string, string | undefined][] = [
    ['patient/Observation.rs?category=laboratory', 'Observation?category=laboratory'],
    ['patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|vital-signs,laboratory', 'Observation?category=laboratory,vital-signs'],
    ['patient/Condition.read', 'Condition'],
    ['patient/Observation.cud', undefined], // no read
    ['patient/*.rs', undefined], // a wildcard is not one grant
    ['patient/Observation.rs?code=http://loinc.org|718-7', undefined], // codes never go on chain
    ['patient/Observation.rs?category=laboratory&category=vital-signs', undefined], // AND of two: not one grant
    ['patient/Observation.rs?category=nonsense', undefined],
    ['patient/Basic.rs', undefined], // not a type the chain may name
    ['launch/patient', undefined],
  ];
  for (const [scope, grant] of cases) assert.equal(grantScopeOf(parseScope(scope)), grant, scope);
});

test('narrowing keeps the grant, cuts its categories, or drops it — never widens', () => {
  const g = (scope: string, patientId = 'p1', expiresAt = 0) => ({ patientId, scope, expiresAt });
  const grants = [g('Observation?category=laboratory,vital-signs'), g('Condition'), g('Observation', 'p2', 99)];
  const scopes = (s: string) => narrowGrants(grants, parseScopes(s)).map((x) => `${x.patientId}:${x.scope}`).sort();
  assert.deepEqual(scopes('patient/*.rs'), ['p1:Condition', 'p1:Observation?category=laboratory,vital-signs', 'p2:Observation']);
  assert.deepEqual(scopes('system/Observation.rs?category=laboratory'), ['p1:Observation?category=laboratory', 'p2:Observation?category=laboratory']);
  assert.deepEqual(scopes('patient/Observation.rs?category=exam'), ['p2:Observation?category=exam']);
  assert.deepEqual(scopes('patient/Condition.c launch/patient openid'), []);
  assert.deepEqual(scopes('patient/Observation.rs?code=718-7'), []);
  assert.deepEqual(narrowGrants(grants, parseScopes('patient/Observation.rs')).find((x) => x.patientId === 'p2')?.expiresAt, 99);
});
