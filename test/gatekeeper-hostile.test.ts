/**
 * Hostile request bodies (issue 14 §4), over HTTP against a running gatekeeper, on every route that
 * takes a body, signed and with a session token: elements named `__proto__`/`constructor` (400, and
 * nothing polluted or stored), bodies nested 100,000 deep, arrays and strings over their limits (400),
 * and bodies that are not JSON (415, before the signature is looked at). The raw-text nesting scan
 * is also checked directly on its edge cases (brackets and escapes inside strings).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Observation } from '@medplum/fhirtypes';
import { BODY_LIMITS, checkNesting, parseJsonBody } from '../src/gatekeeper/http/json-body.js';
import { GatekeeperError } from '../src/gatekeeper/http/outcomes.js';
import { linkPatient } from '../src/gatekeeper/publish/publish.js';
import type { RunningGatekeeper } from '../src/gatekeeper/run.js';
import { sql } from '../src/records/sql.js';
import type { LedgerClient } from '../src/sdk/index.js';
import { PEPPER, startFixture, type Fixture } from '../bench/harness/chain.js';
import { clientFor, sendRaw, startTestGatekeeper, type RawAuth } from './helpers/gatekeeper.js';

const MiB = 1_048_576;
// Roomy limits: this file sends hundreds of refused requests on purpose, and strings over 1 MiB.
const LIMITS = { bodyBytes: 4 * MiB, perAddress: { perSecond: 1000, burst: 100_000 }, anonymous: { perSecond: 1000, burst: 100_000 }, failures: { perSecond: 1000, burst: 100_000 } };

let f: Fixture;
let provider: LedgerClient;
let gk: RunningGatekeeper;
let patientId: string;
let observationId: string;
let auths: [string, RawAuth][];

const lab = (value: number): Observation => ({
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '2345-7', display: 'Glucose' }] },
  subject: { reference: `Patient/${patientId}` },
  effectiveDateTime: '2025-01-01',
  valueQuantity: { value, unit: 'mg/dL' },
});

/** Every route that takes a body: a JSON body that reaches its handler, and a place inside it (after `inner`) two objects deep. */
const routes = () => {
  const extra = '"note":{"a":[{"b":1}]}';
  const me = provider.account!.address;
  return [
    { name: 'create', method: 'POST', path: '/fhir/R4/Observation', body: JSON.stringify(lab(90)), inner: '"code":"2345-7"' },
    { name: 'update', method: 'PUT', path: `/fhir/R4/Observation/${observationId}`, body: JSON.stringify({ ...lab(91), id: observationId }), inner: '"code":"2345-7"' },
    { name: 'registrar link', method: 'POST', path: '/registrar/link', body: `{"identity":"urn:test|nobody",${extra}}`, inner: '"b":1' },
    // Any provider and patient address: the body is refused before the route looks at either.
    { name: 'replica $sync', method: 'POST', path: `/replica/${me}/Patient/${me}/$sync`, body: `{"url":"http://127.0.0.1:9","consent":"0x00",${extra}}`, inner: '"b":1' },
    { name: 'login', method: 'POST', path: '/auth/login', body: `{${extra}}`, inner: '"b":1' },
  ];
};

/** The route's body with `member` added at the top level and, separately, deep inside. */
const withMember = (r: { body: string; inner: string }, member: string) => ({
  top: r.body.replace(/^\{/, `{${member},`),
  nested: r.body.replace(r.inner, `${r.inner},${member}`),
});

/** Sends `body` to every route that takes one, both signed and with a session token. */
async function everyRoute(bodyOf: (r: ReturnType<typeof routes>[number]) => string, contentType = 'application/fhir+json') {
  const answers = [];
  for (const r of routes()) {
    for (const [how, auth] of auths) {
      const answer = await sendRaw(gk, provider, auth, { method: r.method, path: r.path, body: bodyOf(r), contentType });
      answers.push({ where: `${r.name} (${how})`, ...answer });
    }
  }
  return answers;
}

function assertRefused(answers: Awaited<ReturnType<typeof everyRoute>>, status: number, diagnostics: RegExp) {
  for (const a of answers) {
    assert.equal(a.status, status, `${a.where}: ${JSON.stringify(a.body)}`);
    assert.equal(a.body.resourceType, 'OperationOutcome', a.where);
    assert.match(a.body.issue![0]!.diagnostics!, diagnostics, a.where);
  }
}

const snapshot = () => gk.db.query(sql`SELECT resource_type, id, version_id, content::text AS c FROM resources ORDER BY resource_type, id, version_id`);

before(async () => {
  f = await startFixture();
  provider = await f.newProvider();
  await f.newPatient(provider, 'urn:test|hostile');
  gk = await startTestGatekeeper(provider, { pepper: PEPPER, limits: LIMITS });
  patientId = (await gk.store.create({ resourceType: 'Patient', name: [{ family: 'Hostile' }] })).id!;
  await linkPatient(gk.store, provider, patientId, 'urn:test|hostile', PEPPER);
  const own = clientFor(gk, provider, provider.account!);
  observationId = (await own.post<Observation>('/fhir/R4/Observation', lab(80))).body.id!;
  auths = [
    ['signed', { account: provider.account! }],
    ['session token', { token: await own.login() }],
  ];
});
after(async () => {
  await gk?.close();
  await f?.close();
});

test('elements named __proto__ or constructor, at the top or deep inside, escaped or not, get 400; nothing is polluted or stored', async () => {
  const prototypeNames = Object.getOwnPropertyNames(Object.prototype);
  const stored = await snapshot();
  const members = [
    '"__proto__":{"polluted":"yes","toString":"x"}',
    '"constructor":{"prototype":{"polluted":"yes"}}',
    '"constructor":"x"',
    '"\\u005f_proto__":{"polluted":"yes"}',
    '"prototype":{"polluted":"yes"}',
  ];
  for (const member of members) {
    assertRefused(await everyRoute((r) => withMember(r, member).top), 400, /element named "(__proto__|constructor|prototype)"/);
    assertRefused(await everyRoute((r) => withMember(r, member).nested), 400, /element named "(__proto__|constructor|prototype)"/);
  }
  // The server (this process) has its own objects untouched, and stored nothing.
  assert.equal(({} as { polluted?: unknown }).polluted, undefined);
  assert.equal(Object.prototype.toString.call([]), '[object Array]');
  assert.deepEqual(Object.getOwnPropertyNames(Object.prototype), prototypeNames);
  assert.deepEqual(await snapshot(), stored);
  // An unknown element is refused too (by validation), and a normal write still works, both ways.
  const foo = withMember(routes()[0]!, '"foo":1').top;
  const unknown = await sendRaw(gk, provider, auths[0]![1], { method: 'POST', path: '/fhir/R4/Observation', body: foo, contentType: 'application/fhir+json' });
  assert.equal(unknown.status, 400);
  for (const [how, auth] of auths) {
    const created = await sendRaw(gk, provider, auth, { method: 'POST', path: '/fhir/R4/Observation', body: JSON.stringify(lab(95)), contentType: 'application/fhir+json' });
    assert.equal(created.status, 201, how);
    assert.equal(created.body.resourceType, 'Observation', how);
  }
});

test('a body nested 100,000 deep gets 400 (not 500); the limit is exact, and brackets inside strings do not count', async () => {
  const deep = `"deep":${'['.repeat(100_000)}${']'.repeat(100_000)}`;
  assertRefused(await everyRoute((r) => withMember(r, deep).top), 400, /nests deeper than 64 levels/);
  // {"identity":…,"deep":[…]} nests 1 + n deep: 64 reaches the handler (no such patient: 404), 65 does not.
  const link = (n: number) => sendRaw(gk, provider, auths[0]![1], { method: 'POST', path: '/registrar/link', body: `{"identity":"urn:test|nobody","deep":${'['.repeat(n)}${']'.repeat(n)}}`, contentType: 'application/json' });
  assert.equal((await link(BODY_LIMITS.depth - 1)).status, 404);
  assert.equal((await link(BODY_LIMITS.depth)).status, 400);
  // A note full of brackets, quotes and a trailing backslash is an ordinary string.
  const note = { ...lab(97), note: [{ text: `${'[{"\\'.repeat(500)}]]} \\` }] };
  const created = await sendRaw(gk, provider, auths[1]![1], { method: 'POST', path: '/fhir/R4/Observation', body: JSON.stringify(note), contentType: 'application/fhir+json' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
});

test('arrays and strings over their limits get 400 on every route; at the limit they reach the handler', async () => {
  const array = (n: number) => `"many":[${Array(n).fill(0).join(',')}]`;
  assertRefused(await everyRoute((r) => withMember(r, array(BODY_LIMITS.arrayLength + 1)).nested), 400, /array longer than 10000 elements/);
  assertRefused(await everyRoute((r) => withMember(r, `"long":"${'x'.repeat(BODY_LIMITS.stringLength + 1)}"`).top), 400, /string longer than 1048576 characters/);
  const link = (member: string) => sendRaw(gk, provider, auths[0]![1], { method: 'POST', path: '/registrar/link', body: `{"identity":"urn:test|nobody",${member}}`, contentType: 'application/json' });
  assert.equal((await link(array(BODY_LIMITS.arrayLength))).status, 404);
  assert.equal((await link(`"long":"${'x'.repeat(BODY_LIMITS.stringLength)}"`)).status, 404);
  // Above the body limit it stays 413.
  const huge = await link(`"long":"${'x'.repeat(LIMITS.bodyBytes)}"`);
  assert.equal(huge.status, 413);
  assert.equal(huge.body.resourceType, 'OperationOutcome');
});

test('a body that is not JSON gets 415 on every route, before the signature is checked', async () => {
  for (const type of ['text/plain', 'text/plain;charset=UTF-8', 'application/xml', 'application/fhir+xml', 'application/x-www-form-urlencoded', 'application/json-patch+json']) {
    const answers = await everyRoute((r) => r.body, type);
    assertRefused(answers, 415, /is not supported: send application\/fhir\+json/);
    for (const a of answers) assert.equal(a.body.issue![0]!.code, 'not-supported', a.where);
  }
  // Not even signed, or with no content type at all: still 415, not 401.
  const unsigned = await sendRaw(gk, provider, 'none', { method: 'POST', path: '/fhir/R4/Observation', body: JSON.stringify(lab(1)), contentType: 'text/plain' });
  assert.equal(unsigned.status, 415);
  const untyped = await sendRaw(gk, provider, auths[0]![1], { method: 'POST', path: '/fhir/R4/Observation', body: JSON.stringify(lab(1)) });
  assert.equal(untyped.status, 415);
  assert.match(untyped.body.issue![0]!.diagnostics!, /a body needs a content type/);
  // Both JSON types are accepted, with a charset too.
  for (const type of ['application/json', 'application/fhir+json; charset=utf-8']) {
    const ok = await sendRaw(gk, provider, auths[0]![1], { method: 'POST', path: '/fhir/R4/Observation', body: JSON.stringify(lab(2)), contentType: type });
    assert.equal(ok.status, 201, type);
  }
});

test('the nesting scan skips strings exactly (escapes, trailing backslashes) and never recurses', () => {
  const refused = (f: () => unknown) => assert.throws(f, (e: unknown) => e instanceof GatekeeperError && e.status === 400);
  checkNesting('[[["]]]]]]]]]]]]"]]]', 3);
  checkNesting('{"a":"\\"[[[[","b":[["\\\\"]]}', 3);
  refused(() => checkNesting('{"a":"\\\\",[[[]]]}', 3)); // the string ends at the escaped backslash: the brackets after it count
  checkNesting('[' + '"'.repeat(1), 1); // an unterminated string: the scan ends; JSON.parse refuses it
  refused(() => checkNesting('['.repeat(65), 64));
  checkNesting('['.repeat(64), 64);
  checkNesting('["' + '['.repeat(1_000_000) + '"]', 1);
  refused(() => parseJsonBody('{"a":'));
  assert.deepEqual(parseJsonBody(''), { raw: '', json: undefined });
  assert.deepEqual(parseJsonBody('{"a":[1,{"b":"c"}]}').json, { a: [1, { b: 'c' }] });
  refused(() => parseJsonBody('[[1,2,3]]', { depth: 5, arrayLength: 2, stringLength: 10 }));
  refused(() => parseJsonBody('{"abcdefghijk":1}', { depth: 5, arrayLength: 2, stringLength: 10 }));
  refused(() => parseJsonBody('[{"a":{"constructor":{}}}]'));
});
