/**
 * The on-chain-safe query grammar (src/consent/query.ts): what may be written to the chain as a
 * pointer query or grant scope, how it is normalised, and when one scope lies within a pointer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CATEGORIES,
  isWithin,
  normalizePointerQuery,
  parsePointerQuery,
  UnsafeQueryError,
  type PointerResourceType,
} from '../src/protocol/pointer-query.js';

const TYPES = Object.keys(CATEGORIES) as PointerResourceType[];

function assertUnsafe(query: string, reason?: RegExp): void {
  assert.throws(
    () => parsePointerQuery(query),
    (err: unknown) => {
      assert.ok(err instanceof UnsafeQueryError, `"${query}" threw ${String(err)}`);
      if (reason) assert.match(err.message, reason);
      return true;
    },
    `"${query}" should be refused`,
  );
}

test('every allowed resource type parses bare, with no categories', () => {
  for (const type of TYPES) {
    assert.deepEqual(parsePointerQuery(type), { resourceType: type, categories: [] });
  }
});

test('every allowed category of every type parses', () => {
  for (const type of TYPES) {
    for (const category of CATEGORIES[type] as readonly string[]) {
      assert.deepEqual(parsePointerQuery(`${type}?category=${category}`), { resourceType: type, categories: [category] });
    }
  }
  assert.deepEqual(parsePointerQuery('DiagnosticReport?category=LAB,RAD'), {
    resourceType: 'DiagnosticReport',
    categories: ['LAB', 'RAD'],
  });
});

test('search parameters other than category are refused (code, patient, dates, free text)', () => {
  for (const query of [
    'Observation?code=4548-4',
    'Observation?code=http://loinc.org|4548-4',
    'Observation?patient=123',
    'Observation?subject=Patient/jane',
    'Observation?category=laboratory&patient=123',
    'Observation?category=laboratory&code=4548-4',
    'Observation?date=2020-01-01',
    'Observation?category=laboratory&date=ge2020-01-01',
    'Observation?_lastUpdated=gt2024-01-01',
    'Observation?_content=feels tired',
    'Observation?_text=diabetes',
    'Condition?code=44054006',
    'Patient?identifier=123-45-6789',
    'Patient?name=Jane',
    'Observation?',
  ]) {
    assertUnsafe(query, /only search parameter allowed is category/);
  }
});

test('categories outside the value set of the type are refused', () => {
  assertUnsafe('Observation?category=diabetes', /category "diabetes" is not one of/);
  assertUnsafe('Observation?category=Laboratory', /not one of/);
  assertUnsafe('Observation?category=laboratory,feels tired', /not one of/);
  assertUnsafe('Observation?category=LAB', /not one of/); // a DiagnosticReport category
  assertUnsafe('Observation?category=', /not one of/);
  assertUnsafe('Observation?category=laboratory,', /not one of/);
  assertUnsafe('Patient?category=laboratory', /Patient has no categories/);
  assertUnsafe('Immunization?category=x', /has no categories/);
});

test('unknown resource types (and free text) are refused', () => {
  for (const query of ['', 'Medication', 'observation', 'OBSERVATION', ' Observation', 'Observation ', 'Observation#x', 'feels tired', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '?category=laboratory']) {
    assertUnsafe(query, /resource type must be one of/);
  }
});

test('more than one "?" is refused', () => {
  assertUnsafe('Observation?category=laboratory?code=1', /more than one "\?"/);
  assertUnsafe('Observation??category=laboratory', /more than one "\?"/);
});

test('queries longer than 200 characters are refused, even if otherwise valid', () => {
  const long = `Observation?category=${Array(20).fill('laboratory').join(',')}`;
  assert.ok(long.length > 200);
  assertUnsafe(long, /longer than 200 characters/);
  // The same categories, fewer repetitions, fit and normalise to one category.
  const short = `Observation?category=${Array(10).fill('laboratory').join(',')}`;
  assert.ok(short.length <= 200);
  assert.equal(normalizePointerQuery(short), 'Observation?category=laboratory');
});

test('the error message of a long query is truncated', () => {
  const long = `Observation?category=${'x'.repeat(300)}`;
  assert.throws(() => parsePointerQuery(long), (err: Error) => err.message.length < 200 && err.message.includes('…'));
});

test('normalisation sorts and de-duplicates categories, and is idempotent', () => {
  assert.equal(
    normalizePointerQuery('Observation?category=vital-signs,laboratory,vital-signs'),
    'Observation?category=laboratory,vital-signs',
  );
  assert.equal(normalizePointerQuery('DiagnosticReport?category=RAD,LAB,RAD,LAB'), 'DiagnosticReport?category=LAB,RAD');
  assert.equal(normalizePointerQuery('Observation'), 'Observation');
  for (const q of ['Observation?category=vital-signs,laboratory', 'Condition?category=problem-list-item,encounter-diagnosis', 'Encounter']) {
    const once = normalizePointerQuery(q);
    assert.equal(normalizePointerQuery(once), once);
  }
  assert.throws(() => normalizePointerQuery('Observation?code=1'), UnsafeQueryError);
});

test('isWithin: a scope lies within a pointer when it matches no more than the pointer', () => {
  // Same query.
  assert.equal(isWithin('Observation', 'Observation'), true);
  assert.equal(isWithin('Observation?category=laboratory', 'Observation?category=laboratory'), true);
  // A category of a bare type.
  assert.equal(isWithin('Observation?category=laboratory', 'Observation'), true);
  // A subset of the pointer's categories, in any order or with duplicates.
  assert.equal(isWithin('Observation?category=laboratory', 'Observation?category=vital-signs,laboratory'), true);
  assert.equal(isWithin('Observation?category=vital-signs,laboratory', 'Observation?category=laboratory,vital-signs'), true);
  assert.equal(isWithin('Observation?category=laboratory,laboratory', 'Observation?category=laboratory'), true);
});

test('isWithin: wider, disjoint or other-type scopes are not within', () => {
  assert.equal(isWithin('Observation', 'Observation?category=laboratory'), false);
  assert.equal(isWithin('Observation?category=laboratory,vital-signs', 'Observation?category=laboratory'), false);
  assert.equal(isWithin('Observation?category=vital-signs', 'Observation?category=laboratory'), false);
  assert.equal(isWithin('Condition', 'Observation'), false);
  assert.equal(isWithin('DiagnosticReport?category=LAB', 'Observation'), false);
  assert.equal(isWithin('Patient', 'Observation'), false);
});

test('isWithin refuses unsafe input on either side', () => {
  assert.throws(() => isWithin('Observation?code=1', 'Observation'), UnsafeQueryError);
  assert.throws(() => isWithin('Observation', 'Observation?patient=1'), UnsafeQueryError);
});
