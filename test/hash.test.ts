/**
 * The data hash a pointer carries (src/records/hash.ts): canonical JSON and the result-set hash.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keccak256, stringToBytes } from 'viem';
import { canonicalJson, canonicalResultSet, hashResultSet, type ResourceLike } from '../src/records/hash.js';

function observation(id: string, value: number, meta?: Record<string, unknown>): ResourceLike {
  return {
    resourceType: 'Observation',
    id,
    ...(meta ? { meta } : {}),
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '4548-4' }] },
    valueQuantity: { value, unit: '%' },
  };
}

const condition: ResourceLike = { resourceType: 'Condition', id: 'c1', code: { text: 'x' } };

test('canonicalJson sorts object keys by code unit, at every depth', () => {
  assert.equal(canonicalJson({ b: 1, a: 2 }), '{"a":2,"b":1}');
  assert.equal(canonicalJson({ a: 1, B: 2, _: 3 }), '{"B":2,"_":3,"a":1}');
  assert.equal(canonicalJson({ z: { y: 1, x: [{ d: 1, c: 2 }] }, a: null }), '{"a":null,"z":{"x":[{"c":2,"d":1}],"y":1}}');
  // Code-unit order, not code-point order: a surrogate pair (U+10000) sorts before U+FFFF.
  assert.equal(canonicalJson({ '\uffff': 1, '\u{10000}': 2 }), `{"\u{10000}":2,"\uffff":1}`);
  // Key order of the input does not matter.
  assert.equal(canonicalJson({ a: 1, b: { c: 1, d: 2 } }), canonicalJson({ b: { d: 2, c: 1 }, a: 1 }));
});

test('canonicalJson writes no whitespace and keeps array order', () => {
  const text = canonicalJson({ list: [3, 1, 2], text: 'a b', nested: { deep: [true, false, null] } });
  assert.equal(text, '{"list":[3,1,2],"nested":{"deep":[true,false,null]},"text":"a b"}');
  assert.ok(!/\s(?=(?:[^"]*"[^"]*")*[^"]*$)/.test(text), 'whitespace outside strings');
});

test('canonicalJson scalars, undefined members and non-finite numbers', () => {
  assert.equal(canonicalJson('x'), '"x"');
  assert.equal(canonicalJson(1.5), '1.5');
  assert.equal(canonicalJson(1e21), '1e+21');
  assert.equal(canonicalJson(null), 'null');
  assert.equal(canonicalJson({ a: undefined, b: 1 }), '{"b":1}');
  assert.equal(canonicalJson([undefined, 1]), '[null,1]');
  assert.throws(() => canonicalJson({ a: Number.NaN }), /non-finite/);
  assert.throws(() => canonicalJson([Number.POSITIVE_INFINITY]), /non-finite/);
});

test('hashResultSet does not depend on the order of the resources', () => {
  const a = observation('a', 7.1);
  const b = observation('b', 6.8);
  assert.equal(hashResultSet([a, b, condition]), hashResultSet([condition, b, a]));
  assert.equal(hashResultSet([b, a]), hashResultSet([a, b]));
  // Ordered by resourceType, then id.
  assert.deepEqual(
    JSON.parse(canonicalResultSet([b, condition, a])).map((r: ResourceLike) => `${r.resourceType}/${r.id}`),
    ['Condition/c1', 'Observation/a', 'Observation/b'],
  );
});

test('hashResultSet ignores store-assigned meta (versionId, lastUpdated, source)', () => {
  const plain = observation('a', 7.1);
  const stored = observation('a', 7.1, { versionId: '3', lastUpdated: '2024-05-01T10:00:00Z', source: '#abc' });
  const copied = observation('a', 7.1, { versionId: '1', lastUpdated: '2025-01-01T00:00:00Z' });
  assert.equal(hashResultSet([stored]), hashResultSet([plain]));
  assert.equal(hashResultSet([copied]), hashResultSet([plain]));
  // An emptied meta is dropped entirely.
  assert.ok(!canonicalResultSet([stored]).includes('"meta"'));
  // The input is not mutated.
  assert.equal(stored.meta?.versionId, '3');
});

test('hashResultSet changes with content and with meta.security / meta.tag', () => {
  const base = hashResultSet([observation('a', 7.1)]);
  assert.notEqual(hashResultSet([observation('a', 7.2)]), base);
  assert.notEqual(hashResultSet([observation('b', 7.1)]), base);
  assert.notEqual(hashResultSet([observation('a', 7.1), condition]), base);
  const restricted = observation('a', 7.1, {
    versionId: '2',
    security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }],
  });
  assert.notEqual(hashResultSet([restricted]), base);
  assert.ok(canonicalResultSet([restricted]).includes('"meta":{"security"'));
  assert.notEqual(hashResultSet([observation('a', 7.1, { tag: [{ code: 'x' }] })]), base);
});

test('the empty result set hashes to keccak256("[]"), which is not zero', () => {
  const empty = hashResultSet([]);
  assert.equal(canonicalResultSet([]), '[]');
  assert.equal(empty, keccak256(stringToBytes('[]')));
  assert.notEqual(empty, `0x${'0'.repeat(64)}`);
  assert.match(empty, /^0x[0-9a-f]{64}$/);
});
