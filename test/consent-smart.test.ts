/**
 * SMART App Launch v2 scopes (src/consent/smart.ts), walked heading by heading through
 * https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html — the spec is the test plan.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  formatScope,
  intersectScopes,
  InvalidScopeError,
  parseScope,
  parseScopes,
  scopeAllows,
  type SmartInteraction,
  type SmartScope,
} from '../src/consent/smart.js';

const INTERACTIONS: SmartInteraction[] = ['create', 'read', 'update', 'delete', 'search'];
const LAB = 'http://terminology.hl7.org/CodeSystem/observation-category|laboratory';
const VITALS = 'http://terminology.hl7.org/CodeSystem/observation-category|vital-signs';

/** The interactions `scope` allows on `type`, as a string of letters (e.g. "rs"). */
const allowed = (scope: string, type: string): string =>
  INTERACTIONS.filter((i) => scopeAllows(parseScope(scope), type, i))
    .map((i) => i[0])
    .join('');
const formatAll = (scopes: SmartScope[]): string[] => scopes.map(formatScope);
const intersect = (a: string, b: string): string[] => formatAll(intersectScopes(parseScopes(a), parseScopes(b)));

function assertInvalid(scope: string, reason: RegExp): void {
  assert.throws(
    () => parseScope(scope),
    (err: unknown) => err instanceof InvalidScopeError && reason.test(err.message),
    `"${scope}" should be refused with ${reason}`,
  );
}

describe('Quick Start', () => {
  test('the quick-start scopes parse; only the resource ones grant data', () => {
    assert.equal(allowed('patient/*.rs', 'Observation'), 'rs');
    assert.equal(allowed('user/*.cruds', 'Appointment'), 'cruds');
    for (const other of ['openid', 'fhirUser', 'launch', 'launch/patient', 'offline_access', 'online_access']) {
      assert.deepEqual(parseScope(other), { kind: 'other', text: other });
      assert.equal(allowed(other, 'Patient'), '');
    }
    assert.deepEqual(formatAll(parseScopes('openid fhirUser')), ['openid', 'fhirUser']);
  });
});

describe('Scopes for requesting FHIR Resources', () => {
  test('c r u d s grant create, read, update, delete, search', () => {
    assert.equal(allowed('patient/Observation.c', 'Observation'), 'c');
    assert.equal(allowed('patient/Observation.r', 'Observation'), 'r');
    assert.equal(allowed('patient/Observation.u', 'Observation'), 'u');
    assert.equal(allowed('patient/Observation.d', 'Observation'), 'd');
    assert.equal(allowed('patient/Observation.s', 'Observation'), 's');
  });

  test('valid suffixes are every in-order subset of cruds: .cu, .rs, …', () => {
    let count = 0;
    for (let mask = 1; mask < 32; mask++) {
      const perms = [...'cruds'].filter((_, i) => mask & (1 << i)).join('');
      const scope = parseScope(`patient/Observation.${perms}`);
      assert.equal(scope.kind === 'resource' && scope.permissions, perms);
      assert.equal(allowed(`patient/Observation.${perms}`, 'Observation'), perms);
      count++;
    }
    assert.equal(count, 31);
    assert.equal(allowed('patient/Observation.cu', 'Observation'), 'cu');
  });

  test('out-of-order or undefined interactions are rejected (".dus" is not a scope)', () => {
    for (const perms of [
      'sr',
      'dus',
      'rc',
      'sc',
      'scrud',
      'rr',
      'x',
      'R',
      'RS',
      'rsx',
      'crudsx',
      'READ',
      'Read',
      'writes',
      '**',
      'rw',
      'all',
      'constructor',
      'toString',
      '__proto__',
      '',
    ]) {
      assertInvalid(`patient/Observation.${perms}`, /must be a subset of "cruds" in that order, or v1 read, write or \*/);
    }
  });

  test('v1 → v2: .read ⇒ .rs, .write ⇒ .cud, .* ⇒ .cruds', () => {
    assert.equal(formatScope(parseScope('patient/Observation.read')), 'patient/Observation.rs');
    assert.equal(formatScope(parseScope('patient/Observation.write')), 'patient/Observation.cud');
    assert.equal(formatScope(parseScope('patient/Observation.*')), 'patient/Observation.cruds');
    assert.equal(formatScope(parseScope('patient/*.read')), 'patient/*.rs');
    assert.equal(formatScope(parseScope('user/*.*')), 'user/*.cruds');
    assert.equal(formatScope(parseScope('system/*.write')), 'system/*.cud');
    // "interpreting .read as .rd and granting extraneous delete permissions" must not happen.
    assert.equal(allowed('patient/Observation.read', 'Observation'), 'rs');
    assert.equal(allowed('patient/Observation.write', 'Observation'), 'cud');
    for (const type of ['Observation', 'Condition']) {
      for (const [v1, v2] of [
        ['read', 'rs'],
        ['write', 'cud'],
        ['*', 'cruds'],
      ]) {
        assert.equal(allowed(`user/*.${v1}`, type), allowed(`user/*.${v2}`, type));
      }
    }
  });

  test('Batches and Transactions: no scope of their own', () => {
    assertInvalid('patient/Bundle.transaction', /must be a subset of "cruds"/);
    assertInvalid('system/*.batch', /must be a subset of "cruds"/);
  });

  test('Scope Equivalence: "Observation.rs" is "Observation.r Observation.s"; scopes are a union', () => {
    const split = parseScopes('patient/Observation.r patient/Observation.s');
    for (const i of INTERACTIONS) {
      assert.equal(
        split.some((s) => scopeAllows(s, 'Observation', i)),
        scopeAllows(parseScope('patient/Observation.rs'), 'Observation', i),
      );
    }
    const union = parseScopes('patient/Condition.rs patient/AllergyIntolerance.rs');
    assert.ok(union.some((s) => scopeAllows(s, 'Condition', 'read')));
    assert.ok(union.some((s) => scopeAllows(s, 'AllergyIntolerance', 'search')));
    assert.ok(!union.some((s) => scopeAllows(s, 'Observation', 'read')));
  });

  test('Finer-grained resource constraints: patient/Observation.rs?category=…|laboratory', () => {
    const scope = `patient/Observation.rs?category=${LAB}`;
    assert.deepEqual(parseScope(scope), {
      kind: 'resource',
      context: 'patient',
      resourceType: 'Observation',
      permissions: 'rs',
      params: [{ name: 'category', values: [LAB] }],
    });
    assert.equal(formatScope(parseScope(scope)), scope);
    assert.equal(allowed(scope, 'Observation'), 'rs');
    assert.equal(allowed(scope, 'Condition'), '');
  });

  test('Finer-grained constraints as US Core uses them: Condition categories', () => {
    // The SMART page gives the laboratory example; these are the US Core granular scopes
    // (https://hl7.org/fhir/us/core/scopes.html) that servers certified under ONC g(10) must honour.
    for (const [type, category] of [
      ['Condition', 'http://terminology.hl7.org/CodeSystem/condition-category|encounter-diagnosis'],
      ['Condition', 'http://hl7.org/fhir/us/core/CodeSystem/condition-category|health-concern'],
      ['Condition', 'http://terminology.hl7.org/CodeSystem/condition-category|problem-list-item'],
      ['Observation', VITALS],
      ['Observation', 'http://hl7.org/fhir/us/core/CodeSystem/us-core-category|sdoh'],
    ] as const) {
      const scope = `patient/${type}.rs?category=${category}`;
      assert.deepEqual(parseScope(scope), {
        kind: 'resource',
        context: 'patient',
        resourceType: type,
        permissions: 'rs',
        params: [{ name: 'category', values: [category] }],
      });
      assert.equal(formatScope(parseScope(scope)), scope);
    }
  });

  test('"a series of param=value items separated by &": AND of params, comma-separated values OR-ed', () => {
    const scope = parseScope(`user/Observation.rs?category=${LAB},${VITALS}&status=final`);
    assert.deepEqual(scope.kind === 'resource' && scope.params, [
      { name: 'category', values: [LAB, VITALS] },
      { name: 'status', values: ['final'] },
    ]);
  });

  test('Experimental features: modifiers and chains parse (the consent compiler refuses to widen on them)', () => {
    const modifier = parseScope('patient/Observation.rs?code:in=http://valueset.example.org/ValueSet/diabetes-codes');
    assert.deepEqual(modifier.kind === 'resource' && modifier.params, [
      { name: 'code:in', values: ['http://valueset.example.org/ValueSet/diabetes-codes'] },
    ]);
    const chain = parseScope('patient/Observation.rs?patient.birthdate=1990');
    assert.deepEqual(chain.kind === 'resource' && chain.params, [{ name: 'patient.birthdate', values: ['1990'] }]);
  });

  test('FHIR Resource Scope Syntax: malformed scopes are rejected with the reason', () => {
    assertInvalid('patient/Observation.sr', /subset of "cruds" in that order/);
    assertInvalid('patient/Observation.x', /subset of "cruds" in that order/);
    assertInvalid('foo/Observation.r', /context must be patient, user or system, not "foo"/);
    assertInvalid('Patient/Observation.r', /context must be patient, user or system/);
    assertInvalid('patient/Observation', /missing "\.permissions"/);
    assertInvalid('patient/Observation.', /subset of "cruds"/);
    assertInvalid('patient/observation.rs', /"observation" is not a FHIR resource type or \*/);
    assertInvalid('patient/.rs', /"" is not a FHIR resource type/);
    assertInvalid('patient/Obs-ervation.rs', /not a FHIR resource type/);
    assertInvalid('patient/**.rs', /not a FHIR resource type/);
    assertInvalid('Observation.rs', /expected context\/ResourceType\.permissions/);
    assertInvalid('foo', /expected context\/ResourceType\.permissions/);
    assertInvalid('patient/Observation.rs?', /"" is not a search parameter/);
    assertInvalid('patient/Observation.rs?category', /"category" is not a search parameter name=value/);
    assertInvalid('patient/Observation.rs?=laboratory', /not a search parameter/);
    assertInvalid('patient/Observation.rs?category=', /has an empty value/);
    assertInvalid('patient/Observation.rs?category=laboratory,', /has an empty value/);
    assertInvalid('patient/Observation.rs?category=a&', /not a search parameter/);
    assertInvalid('patient/Observation.rs?category=a?code=b', /more than one "\?"/);
    assertInvalid('patient/Observation.rs?cat egory=a', /character an OAuth scope cannot hold/);
    assertInvalid('patient/Observation.rs ', /character an OAuth scope cannot hold/);
    assertInvalid('patient/Observation.rs?category="a"', /character an OAuth scope cannot hold/);
    assertInvalid('patient/Observation.rs?category=a\\,b', /character an OAuth scope cannot hold/);
    assertInvalid('', /empty/);
  });

  test('parseScopes splits on spaces and throws on the first invalid scope', () => {
    assert.deepEqual(formatAll(parseScopes('  openid  patient/Observation.read ')), ['openid', 'patient/Observation.rs']);
    assert.deepEqual(parseScopes(''), []);
    assert.throws(() => parseScopes('openid patient/Observation.sr'), InvalidScopeError);
    assert.throws(() => parseScopes('openid\tpatient/Observation.rs'), InvalidScopeError);
  });
});

describe('Patient-specific scopes (examples table)', () => {
  test('patient/Observation.rs: read and search observations about the patient', () => {
    assert.equal(allowed('patient/Observation.rs', 'Observation'), 'rs');
    assert.equal(allowed('patient/Observation.rs', 'Condition'), '');
  });
  test('patient/Patient.r: read demographics ("patient" the context, "Patient" the resource)', () => {
    assert.deepEqual(parseScope('patient/Patient.r'), {
      kind: 'resource',
      context: 'patient',
      resourceType: 'Patient',
      permissions: 'r',
      params: [],
    });
    assert.equal(allowed('patient/Patient.r', 'Patient'), 'r');
  });
  test('patient/Observation.c: write access does not imply read access', () => {
    assert.equal(allowed('patient/Observation.c', 'Observation'), 'c');
  });
  test('patient/*.cruds: all data about the patient', () => {
    for (const type of ['Patient', 'Observation', 'Condition', 'Genomics'])
      assert.equal(allowed('patient/*.cruds', type), 'cruds');
  });
});

describe('User-level scopes (examples table)', () => {
  test('user/Observation.rs, user/Appointment.cruds, user/*.cruds, user/Patient.rs', () => {
    assert.equal(allowed('user/Observation.rs', 'Observation'), 'rs');
    assert.equal(allowed('user/Appointment.cruds', 'Appointment'), 'cruds');
    assert.equal(allowed('user/Appointment.cruds', 'Observation'), '');
    assert.equal(allowed('user/*.cruds', 'Observation'), 'cruds');
    assert.equal(allowed('user/Patient.rs', 'Patient'), 'rs');
  });
});

describe('System-level scopes (examples table)', () => {
  test('system/Observation.rs, system/*.rs, system/Encounter.cud', () => {
    assert.equal(allowed('system/Observation.rs', 'Observation'), 'rs');
    assert.equal(allowed('system/*.rs', 'Encounter'), 'rs');
    assert.equal(allowed('system/Encounter.cud', 'Encounter'), 'cud');
    assert.deepEqual(parseScope('system/Encounter.cud'), {
      kind: 'resource',
      context: 'system',
      resourceType: 'Encounter',
      permissions: 'cud',
      params: [],
    });
  });
});

describe('Wildcard scopes: what a server may grant for patient/AllergyIntolerance.cruds', () => {
  // Each row of the spec's table, as granted ∩ requested: the app gets no more than either side.
  const requested = 'patient/AllergyIntolerance.cruds';
  for (const [granted, result] of [
    ['patient/AllergyIntolerance.cruds', ['patient/AllergyIntolerance.cruds']],
    [
      'patient/AllergyIntolerance.rs patient/AllergyIntolerance.cud',
      ['patient/AllergyIntolerance.rs', 'patient/AllergyIntolerance.cud'],
    ],
    ['patient/AllergyIntolerance.rs', ['patient/AllergyIntolerance.rs']],
    ['patient/AllergyIntolerance.cud', ['patient/AllergyIntolerance.cud']],
    ['patient/*.rs', ['patient/AllergyIntolerance.rs']],
    ['patient/*.cruds', ['patient/AllergyIntolerance.cruds']],
    ['patient/Observation.rs', []],
    ['', []],
  ] as const) {
    test(`granted "${granted}"`, () => assert.deepEqual(intersect(granted, requested), result));
  }
});

describe('Scopes for requesting context data, identity data and a refresh token', () => {
  test('launch scopes are kept as text and grant no data', () => {
    for (const s of [
      'launch',
      'launch/patient',
      'launch/encounter',
      'launch/diagnosticreport',
      'launch/imagingstudy',
      'launch/list?role=https://example.org/med-list-at-home',
    ]) {
      assert.deepEqual(parseScope(s), { kind: 'other', text: s });
      for (const i of INTERACTIONS) assert.equal(scopeAllows(parseScope(s), 'Patient', i), false);
    }
  });
  test('identity (openid, fhirUser, profile) and refresh (online_access, offline_access)', () => {
    for (const s of ['openid', 'fhirUser', 'profile', 'online_access', 'offline_access'])
      assert.deepEqual(parseScope(s), { kind: 'other', text: s });
  });
  test('Extensibility: a full URI or a string starting with __', () => {
    assert.deepEqual(formatAll(parseScopes('launch/patient patient/*.rs __profilePhoto.manage')), [
      'launch/patient',
      'patient/*.rs',
      '__profilePhoto.manage',
    ]);
    assert.equal(parseScope('https://ehr.example.org/scopes/profilePhoto.manage').kind, 'other');
  });
  test('other scopes survive an intersection only when both sides hold them', () => {
    assert.deepEqual(
      intersect('openid fhirUser offline_access patient/*.rs', 'openid offline_access launch/patient patient/Observation.rs'),
      ['openid', 'offline_access', 'patient/Observation.rs'],
    );
  });
});

describe('intersectScopes: security logic can only narrow', () => {
  test('resource type, permissions and context narrow to the smaller side', () => {
    assert.deepEqual(intersect('user/*.cruds', 'patient/Observation.rs'), ['patient/Observation.rs']);
    assert.deepEqual(intersect('system/Observation.rs', 'user/Observation.cruds'), ['user/Observation.rs']);
    assert.deepEqual(intersect('patient/Observation.cu', 'patient/Observation.rs'), []);
    assert.deepEqual(intersect('patient/Observation.rs', 'patient/Condition.rs'), []);
    assert.deepEqual(intersect('patient/Observation.read', 'patient/*.write'), []);
    assert.deepEqual(intersect('patient/*.rs', 'patient/Observation.rs patient/Condition.r'), [
      'patient/Observation.rs',
      'patient/Condition.r',
    ]);
  });

  test('params are AND-ed; a constraint implied by the other is dropped', () => {
    // system|code implies the bare code of the same token: keep the narrower one.
    assert.deepEqual(intersect('patient/Observation.rs?category=laboratory', `patient/Observation.rs?category=${LAB}`), [
      `patient/Observation.rs?category=${LAB}`,
    ]);
    assert.deepEqual(intersect('patient/Observation.rs?category=laboratory,vital-signs', 'patient/*.rs?category=laboratory'), [
      'patient/Observation.rs?category=laboratory',
    ]);
    assert.deepEqual(intersect('patient/Observation.rs', `patient/Observation.rs?category=${LAB}`), [
      `patient/Observation.rs?category=${LAB}`,
    ]);
    // Disjoint categories: a resource can carry both, so the AND is kept (not "empty", not "either").
    assert.deepEqual(intersect('patient/Observation.rs?category=laboratory', 'patient/Observation.rs?category=vital-signs'), [
      'patient/Observation.rs?category=laboratory&category=vital-signs',
    ]);
    // Other params compare by equality only: `name=a|x` does not imply `name=x`.
    assert.deepEqual(intersect('patient/Patient.rs?name=x', 'patient/Patient.rs?name=a|x'), [
      'patient/Patient.rs?name=x&name=a|x',
    ]);
    assert.deepEqual(intersect('patient/Observation.rs?code:in=http://vs/a', 'patient/Observation.rs'), [
      'patient/Observation.rs?code:in=http://vs/a',
    ]);
  });

  // Resources as the store indexes them: a coded category contributes `system|code` and `code`.
  const SYS = 'http://terminology.hl7.org/CodeSystem/observation-category';
  const codes = ['laboratory', 'vital-signs', 'survey'];
  const arbResource = fc.record({
    type: fc.constantFrom('Observation', 'Condition'),
    codings: fc.subarray(codes.flatMap((c) => [c, `${SYS}|${c}`])),
  });
  const tokens = (codings: string[]): Set<string> => new Set(codings.flatMap((c) => [c, c.split('|').at(-1)!]));
  const arbScope = fc
    .record({
      context: fc.constantFrom('patient', 'user', 'system'),
      type: fc.constantFrom('Observation', 'Condition', '*'),
      perms: fc.subarray([...'cruds'], { minLength: 1 }),
      params: fc.array(
        fc.subarray(
          codes.flatMap((c) => [c, `${SYS}|${c}`]),
          { minLength: 1 },
        ),
        { maxLength: 2 },
      ),
    })
    .map(({ context, type, perms, params }) => {
      const query = params.map((values) => `category=${values.join(',')}`).join('&');
      return parseScope(`${context}/${type}.${perms.join('')}${query ? `?${query}` : ''}`);
    });
  /** The oracle: does `scope` let `interaction` reach this resource? */
  const reaches = (scope: SmartScope, r: { type: string; codings: string[] }, i: SmartInteraction): boolean =>
    scopeAllows(scope, r.type, i) &&
    scope.kind === 'resource' &&
    scope.params.every((p) => p.values.some((v) => tokens(r.codings).has(v)));

  test('property: the intersection reaches exactly the resources both sides reach', () => {
    fc.assert(
      fc.property(
        fc.array(arbScope, { maxLength: 3 }),
        fc.array(arbScope, { maxLength: 3 }),
        arbResource,
        fc.constantFrom(...INTERACTIONS),
        (a, b, r, i) => {
          const both = intersectScopes(a, b);
          const viaBoth = both.some((s) => reaches(s, r, i));
          assert.equal(viaBoth, a.some((s) => reaches(s, r, i)) && b.some((s) => reaches(s, r, i)));
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('property: formatScope ∘ parseScope is the identity on canonical scopes', () => {
    fc.assert(fc.property(arbScope, (s) => assert.deepEqual(parseScope(formatScope(s)), s)), { numRuns: 1000 });
  });
});
