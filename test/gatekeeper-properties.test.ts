/**
 * Hostile HTTP against a running gatekeeper, 1,000 requests per property: random search strings and
 * paths (as the provider and as a third party), and signed requests with random header mutations.
 * Every answer is a 2xx or a 4xx OperationOutcome — never a 5xx — no mutated signature is ever
 * accepted, and the store is unchanged afterwards.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import type { Observation } from '@medplum/fhirtypes';
import type { LocalAccount } from 'viem';
import { linkPatient } from '../src/gatekeeper/publish/publish.js';
import { HEADERS, signRequest } from '../src/protocol/request-signature.js';
import { startGatekeeper, type RunningGatekeeper } from '../src/gatekeeper/run.js';
import { sql } from '../src/records/sql.js';
import { findRelationship, grantViewer, type LedgerClient } from '../src/sdk/index.js';
import { PEPPER, startFixture, type Fixture } from '../bench/harness/chain.js';
import { testDatabase } from './helpers/db.js';
import { clientFor } from './helpers/gatekeeper.js';
import { RUNS } from './helpers/properties.js';

let f: Fixture;
let provider: LedgerClient;
let researcher: LocalAccount;
let gk: RunningGatekeeper;
let tokens: { provider: string; researcher: string };

before(async () => {
  f = await startFixture();
  provider = await f.newProvider();
  const patient = await f.newPatient(provider, 'urn:test|props-gk');
  researcher = await f.newAccount();
  // Limits far above this test's pace: the property is about answers, not throttling (limits have their own test).
  const high = { perSecond: 100_000, burst: 100_000 };
  gk = await startGatekeeper({ ledger: provider, database: await testDatabase(), limits: { perAddress: high, anonymous: high, failures: high } });
  const patientId = (await gk.store.create({ resourceType: 'Patient', name: [{ family: 'Props' }] })).id!;
  await linkPatient(gk.store, provider, patientId, 'urn:test|props-gk', PEPPER);
  const lab: Observation = {
    resourceType: 'Observation',
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }] },
    subject: { reference: `Patient/${patientId}` },
  };
  await clientFor(gk, provider, provider.account!).post('/fhir/R4/Observation', lab);
  const rel = (await findRelationship(provider, { patient: patient.account!.address, provider: provider.account!.address }))!;
  await grantViewer(patient, { relationshipId: rel, viewer: researcher.address, scope: 'Observation?category=laboratory', expiresAt: 0 });
  tokens = { provider: await clientFor(gk, provider, provider.account!).login(), researcher: await clientFor(gk, provider, researcher).login() };
});
after(async () => {
  await gk?.close();
  await f?.close();
});

const snapshot = async () => JSON.stringify(await gk.db.query(sql`SELECT resource_type, id, version_id, content::text AS c FROM resources ORDER BY resource_type, id`));

/** Sends a request; the answer must be 2xx, or a 4xx OperationOutcome. */
async function answer(path: string, headers: Record<string, string>, what: string): Promise<number> {
  const res = await fetch(`${gk.url}${path}`, { headers });
  const body = (await res.json().catch(() => undefined)) as { resourceType?: string } | undefined;
  assert.ok(res.status < 500, `${what}: ${res.status} ${JSON.stringify(body)}`);
  if (res.status >= 400) assert.equal(body?.resourceType, 'OperationOutcome', `${what}: ${res.status} ${JSON.stringify(body)}`);
  return res.status;
}

/** Percent-encodes only what cannot go on the request line (spaces, #, controls, non-ASCII); `%` and the rest stay as they are. */
const escapeUnsendable = (query: string) =>
  query.replace(/[^\x21-\x22\x24-\x7e]/gu, (c) => [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join(''));

const text = fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 20 }), fc.constantFrom("' OR 1=1 --", '%00', '%', '%ZZ', '..', 'laboratory', 'Patient/1', '2020', '-date', '1e9'));

test('random searches and paths: 2xx or a 4xx OperationOutcome, never a 5xx; nothing changes', async () => {
  const state = await snapshot();
  const statuses = new Map<number, number>();
  const type = fc.constantFrom('Observation', 'Patient', 'Condition', 'Bogus', 'metadata', '%2e%2e', 'Observation/x/_history', 'Patient/1/$everything', 'Patient/1/$verify');
  const key = fc.oneof(fc.constantFrom('code', 'category', 'status', 'patient', '_id', 'date', '_count', '_offset', '_sort', '_security:not'), fc.string({ maxLength: 8 }));
  await fc.assert(
    fc.asyncProperty(type, fc.array(fc.tuple(key, text), { maxLength: 4 }), fc.constantFrom('provider' as const, 'researcher' as const), fc.boolean(), async (t, pairs, who, raw) => {
      // Raw: the pairs glued as they come (broken percent-escapes included); else properly encoded.
      const query = raw ? escapeUnsendable(pairs.map(([k, v]) => `${k}=${v}`).join('&')) : new URLSearchParams(pairs).toString();
      const path = `/fhir/R4/${t}${query ? `?${query}` : ''}`;
      let status: number;
      try {
        status = await answer(path, { authorization: `Bearer ${tokens[who]}` }, `${who} ${path}`);
      } catch (err) {
        // fetch refuses some URLs itself (nothing was sent): not the gatekeeper's answer.
        if (err instanceof TypeError) return;
        throw err;
      }
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }),
    RUNS,
  );
  assert.equal(await snapshot(), state);
  assert.ok((statuses.get(200) ?? 0) > 0 && (statuses.get(400) ?? 0) > 0, JSON.stringify([...statuses]));
});

test('signed requests with random header mutations: never accepted, always a 400/401 OperationOutcome', async () => {
  const path = '/fhir/R4/Observation';
  const fields = { method: 'GET', path, gatekeeper: provider.account!.address, chainId: provider.chainId };
  const originals = await Promise.all(Array.from({ length: 4 }, () => signRequest(researcher, fields, { ttlSeconds: 290 })));
  const mutation = fc.record({
    header: fc.constantFrom(HEADERS.address, HEADERS.chainId, HEADERS.nonce, HEADERS.expiry, HEADERS.signature),
    kind: fc.constantFrom('flip', 'replace', 'drop'),
    at: fc.nat(),
    value: fc.oneof(fc.string({ maxLength: 70 }), fc.stringMatching(/^0x[0-9a-f]{0,132}$/), fc.integer({ min: -5, max: 2 ** 40 }).map(String)),
  });
  await fc.assert(
    fc.asyncProperty(fc.nat({ max: originals.length - 1 }), mutation, async (which, m) => {
      const headers: Record<string, string> = { ...originals[which]! };
      const old = headers[m.header]!;
      if (m.kind === 'drop') delete headers[m.header];
      else if (m.kind === 'replace') headers[m.header] = m.value;
      else {
        // Change one character to a different hex digit: different bytes (not only another case).
        const i = m.at % old.length;
        const c = old[i]!.toLowerCase();
        headers[m.header] = `${old.slice(0, i)}${c === '1' ? '2' : '1'}${old.slice(i + 1)}`;
      }
      if (m.kind !== 'drop' && headers[m.header]!.toLowerCase() === old.toLowerCase()) return; // not a mutation
      if (m.kind === 'drop' && m.header === HEADERS.chainId) return; // optional: the chain is in the signed domain anyway
      // Header values must be sendable at all.
      if (/[^\t\x20-\x7e]/.test(headers[m.header] ?? '')) return;
      const status = await answer(path, headers, JSON.stringify(m));
      assert.ok(status === 400 || status === 401, `${JSON.stringify(m)} → ${status}`);
    }),
    RUNS,
  );
});
