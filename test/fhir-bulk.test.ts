/**
 * Bulk Data 2.0 export (https://hl7.org/fhir/uv/bulkdata/STU2/export.html) over HTTP against a real
 * gatekeeper whose decisions come from the chain: kick-off, polling (X-Progress, then the manifest),
 * NDJSON files per type, `_type`, `_since`, DELETE to cancel, nothing beyond the requester's grants,
 * every exported patient audited — and a consented cohort's Group/{studyId}/$export returns exactly
 * what the same requester's searches return.
 *
 * Four patients at one provider: A, B and C grant the researcher their laboratory Observations and
 * their Patient resource; D grants nothing. A, B and D enrol in the researcher's study; C does not.
 * So the study's export holds A's and B's granted resources only.
 */
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Group, Observation, Resource } from '@medplum/fhirtypes';
import type { Hex, LocalAccount } from 'viem';
import type { Decision } from '../src/gatekeeper/audit/audit.js';
import { linkPatient, publishPatient } from '../src/gatekeeper/publish/publish.js';
import { startGatekeeper, type RunningGatekeeper } from '../src/gatekeeper/run.js';
import { signRequest } from '../src/protocol/request-signature.js';
import { validateStudy } from '../src/protocol/research/study.js';
import { sql } from '../src/records/sql.js';
import { findRelationship, grantViewer, revokeViewer, type LedgerClient } from '../src/sdk/index.js';
import { enrollInStudy, registerStudy } from '../src/sdk/studies.js';
import { PEPPER, startFixture, tempDir, type Fixture } from '../bench/harness/chain.js';
import { startTestGatekeeper } from './helpers/gatekeeper.js';

const FHIR = '/fhir/R4';
const LAB = 'http://terminology.hl7.org/CodeSystem/observation-category';
const HIV = [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'HIV' }];

let f: Fixture;
let provider: LedgerClient;
let gk: RunningGatekeeper;
let researcher: LocalAccount;
let stranger: LocalAccount;
let studyId: Hex;
const ids: string[] = [];
/** The granting patients' clients and their relationship with the provider (for the revoke). */
const grantors: { client: LedgerClient; relationshipId: bigint }[] = [];
const decisions: Decision[] = [];
/** While set, every export waits before its next page (the gatekeeper's `bulk.pace`). */
let hold: Promise<void> | undefined;
const exportDir = tempDir('medledger-bulk-test-');

interface Reply {
  status: number;
  headers: Headers;
  text: string;
}

/** A request signed by `account`, with `headers` added (the SDK client sends no Prefer). */
async function call(account: LocalAccount, method: string, urlOrPath: string, headers: Record<string, string> = {}, at = gk): Promise<Reply> {
  const path = urlOrPath.startsWith('http') ? urlOrPath.slice(at.url.length) : urlOrPath;
  const signed = await signRequest(account, { method, path, gatekeeper: at.chain.provider, chainId: provider.chainId });
  const res = await fetch(`${at.url}${path}`, { method, headers: { ...signed, ...headers } });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

const kickOff = (account: LocalAccount, path: string) => call(account, 'GET', path, { prefer: 'respond-async', accept: 'application/fhir+json' });

interface Manifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: boolean;
  output: { type: string; url: string; count: number }[];
  error: { type: string; url: string }[];
}

/** Polls the status URL as a client would (honouring no Retry-After: the test has no time to lose) until the manifest. */
async function manifestOf(account: LocalAccount, statusUrl: string, at = gk): Promise<Manifest> {
  for (let i = 0; i < 500; i++) {
    const r = await call(account, 'GET', statusUrl, {}, at);
    if (r.status === 200) return JSON.parse(r.text) as Manifest;
    assert.equal(r.status, 202, r.text);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('export did not finish');
}

/** Kick-off → manifest → every file's resources, by type. */
async function exportAll(account: LocalAccount, path: string): Promise<{ manifest: Manifest; byType: Map<string, Resource[]> }> {
  const k = await kickOff(account, path);
  assert.equal(k.status, 202, k.text);
  const manifest = await manifestOf(account, k.headers.get('content-location')!);
  const byType = new Map<string, Resource[]>();
  for (const file of manifest.output) {
    const r = await call(account, 'GET', file.url);
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type') ?? '', /^application\/fhir\+ndjson/);
    const lines = r.text.trimEnd().split('\n').map((l) => JSON.parse(l) as Resource);
    assert.equal(lines.length, file.count);
    assert.ok(lines.every((x) => x.resourceType === file.type));
    byType.set(file.type, [...(byType.get(file.type) ?? []), ...lines]);
  }
  return { manifest, byType };
}

/** Waits until the gatekeeper's chain view has applied `block` (its announcement travels over a socket). */
async function applied(block: bigint): Promise<void> {
  while ((await gk.chain.sync()) < block) await new Promise((r) => setTimeout(r, 5));
}

const key = (r: Resource) => `${r.resourceType}/${r.id}`;
const sortByKey = (rs: Resource[]) => [...rs].sort((a, b) => key(a).localeCompare(key(b)));

/** What `account`'s own searches return of `type` for these patients (a refused search: nothing). */
async function searched(account: LocalAccount, type: string, patients: string[]): Promise<Resource[]> {
  const found: Resource[] = [];
  for (const id of patients) {
    const r = await call(account, 'GET', `${FHIR}/${type}?${type === 'Patient' ? '_id' : 'patient'}=${id}&_count=1000`);
    if (r.status === 403) continue;
    assert.equal(r.status, 200, r.text);
    found.push(...((JSON.parse(r.text) as { entry?: { resource: Resource }[] }).entry ?? []).map((e) => e.resource));
  }
  return found;
}

function observation(patientId: string, category: string, value: number, labelled = false): Resource {
  return {
    resourceType: 'Observation',
    meta: labelled ? { security: HIV } : undefined,
    status: 'final',
    category: [{ coding: [{ system: LAB, code: category }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '718-7' }] },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: '2024-05-01',
    valueQuantity: { value, unit: 'g/dL' },
  };
}

before(async () => {
  f = await startFixture();
  provider = await f.newProvider();
  researcher = await f.newAccount();
  stranger = await f.newAccount();
  gk = await startTestGatekeeper(provider, { onDecision: (d) => decisions.push(d), bulk: { directory: exportDir, patientsPerQuery: 1, fileLines: 5, pace: async () => hold } });
  const def = validateStudy({
    version: 1,
    title: 'Haemoglobin over time',
    sponsor: { name: 'Lab study group', address: researcher.address },
    purpose: 'Learn how haemoglobin changes',
    data: { features: ['age', 'sex'] },
    inclusion: 'adults with a blood count',
    model: { type: 'logistic-regression', rounds: 1, learningRate: 0.5, siteIntercept: true },
    privacy: { epsilon: 2, delta: 1e-5, clip: 1, minSites: 3 },
    expiresAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
  });
  studyId = (await registerStudy(f.as(researcher), def)).studyId;
  for (const [i, name] of ['a', 'b', 'c', 'd'].entries()) {
    const patient = await f.newPatient(provider, `urn:test|${name}`);
    const { id } = await gk.store.create({ resourceType: 'Patient', name: [{ family: name }] });
    ids.push(id);
    await linkPatient(gk.store, provider, id, `urn:test|${name}`, PEPPER);
    // Six lab results (over a page and a file each), a vital sign, a labelled lab result, a Condition.
    await gk.store.createMany([
      ...[1, 2, 3, 4, 5, 6].map((v) => observation(id, 'laboratory', 10 + v + i)),
      observation(id, 'vital-signs', 70),
      observation(id, 'laboratory', 99, true),
      { resourceType: 'Condition', subject: { reference: `Patient/${id}` }, code: { coding: [{ system: 'http://snomed.info/sct', code: '38341003' }] } },
    ]);
    if (name !== 'd') {
      await publishPatient(gk.store, provider, id); // the relationship and its pointers
    const relationshipId = (await findRelationship(provider, { patient: patient.account!.address, provider: provider.account!.address }))!;
      for (const scope of ['Observation?category=laboratory', 'Patient']) await grantViewer(patient, { relationshipId, viewer: researcher.address, scope, expiresAt: 0 });
      grantors.push({ client: patient, relationshipId });
    }
    if (name !== 'c') await enrollInStudy(patient, studyId);
  }
  await applied(await provider.publicClient.getBlockNumber());
});

after(async () => {
  await gk?.close();
  await f?.close();
  rmSync(exportDir, { recursive: true, force: true });
});

test('kick-off refusals: no Prefer: respond-async, a bad _since, an unknown parameter or type, no grant at all', async () => {
  const plain = await call(researcher, 'GET', `${FHIR}/Patient/$export`);
  assert.equal(plain.status, 400);
  assert.match(plain.text, /respond-async/);
  for (const query of ['_since=yesterday', '_typeFilter=Observation%3Fcode%3D1', '_type=Nonsense', '_outputFormat=text/csv']) {
    const r = await kickOff(researcher, `${FHIR}/Patient/$export?${query}`);
    assert.equal(r.status, 400, query);
    assert.equal(JSON.parse(r.text).resourceType, 'OperationOutcome');
  }
  // Prefer: handling=lenient ignores what it does not support.
  const lenient = await call(researcher, 'GET', `${FHIR}/Patient/$export?_typeFilter=x&_type=Nonsense,Patient`, { prefer: 'respond-async, handling=lenient' });
  assert.equal(lenient.status, 202, lenient.text);
  assert.deepEqual((await manifestOf(researcher, lenient.headers.get('content-location')!)).output.map((o) => o.type), ['Patient']);
  assert.equal((await kickOff(stranger, `${FHIR}/Patient/$export`)).status, 403);
  assert.equal((await kickOff(researcher, `${FHIR}/Group/nobody/$export`)).status, 404);
});

test('the study cohort\'s Group export returns the same resources as the equivalent searches, polled through X-Progress, every patient audited', async () => {
  let release!: () => void;
  hold = new Promise((resolve) => (release = resolve));
  const k = await kickOff(researcher, `${FHIR}/Group/${studyId}/$export`);
  assert.equal(k.status, 202, k.text);
  const statusUrl = k.headers.get('content-location')!;
  assert.match(statusUrl, /^http:\/\/.+\/fhir\/R4\/\$export-status\//);
  const polled = await call(researcher, 'GET', statusUrl);
  assert.equal(polled.status, 202);
  assert.ok(polled.headers.get('x-progress'), 'X-Progress while it runs');
  // The job is the researcher's alone.
  assert.equal((await call(stranger, 'GET', statusUrl)).status, 404);
  hold = undefined;
  release();

  const manifest = await manifestOf(researcher, statusUrl);
  assert.equal(manifest.requiresAccessToken, true);
  assert.equal(manifest.request, `${gk.url}${FHIR}/Group/${studyId}/$export`);
  assert.deepEqual(manifest.error, []);
  const byType = new Map<string, Resource[]>();
  for (const file of manifest.output) {
    const lines = (await call(researcher, 'GET', file.url)).text.trimEnd().split('\n').map((l) => JSON.parse(l) as Resource);
    byType.set(file.type, [...(byType.get(file.type) ?? []), ...lines]);
  }
  // Six lab results each of A and B, in files of at most five; their Patients.
  const counts = (type: string) => manifest.output.filter((o) => o.type === type).map((o) => o.count);
  assert.deepEqual([counts('Patient'), counts('Observation')], [[2], [5, 5, 2]]);
  assert.deepEqual(new Set(manifest.output.map((o) => o.type)), new Set(['Patient', 'Observation']));
  const cohort = [ids[0]!, ids[1]!, ids[3]!]; // the enrolled: A, B and D (D granted nothing)
  for (const type of ['Patient', 'Observation', 'Condition']) {
    assert.deepEqual(sortByKey(byType.get(type) ?? []), sortByKey(await searched(researcher, type, cohort)), type);
  }
  const audited = decisions.filter((d) => d.path === `${FHIR}/Group/${studyId}/$export` && d.permitted && d.patientId);
  assert.deepEqual(audited.map((d) => d.patientId).sort(), [ids[0]!, ids[1]!].sort());
});

test('a stored Group\'s export covers its active members only', async () => {
  const [a, b, c] = ids;
  const group = await gk.store.create<Group>({
    resourceType: 'Group',
    type: 'person',
    actual: true,
    member: [{ entity: { reference: `Patient/${a}` } }, { entity: { reference: `Patient/${b}` }, inactive: true }, { entity: { reference: `Patient/${c}` } }],
  });
  const { byType } = await exportAll(researcher, `${FHIR}/Group/${group.id}/$export?_type=Patient,Observation`);
  for (const type of ['Patient', 'Observation']) assert.deepEqual(sortByKey(byType.get(type) ?? []), sortByKey(await searched(researcher, type, [a!, c!])), type);
  assert.equal(byType.get('Patient')?.length, 2);
});

test('Patient/$export with _type and _since: only the types named, only what changed since, ungranted types reported', async () => {
  const [{ t }] = (await gk.db.query<{ t: Date | string }>(sql`SELECT max(last_updated) AS t FROM resources`)) as [{ t: Date | string }];
  const since = new Date(t).toISOString();
  const [newer] = await gk.store.createMany([observation(ids[2]!, 'laboratory', 12.5)]);
  const { manifest, byType } = await exportAll(researcher, `${FHIR}/Patient/$export?_type=Observation,Condition&_since=${since}`);
  assert.deepEqual(byType.get('Observation'), [newer]);
  assert.equal(byType.has('Patient'), false);
  // Condition was named but no grant covers it: one OperationOutcome in the error file.
  assert.equal(manifest.error.length, 1);
  const outcome = JSON.parse((await call(researcher, 'GET', manifest.error[0]!.url)).text);
  assert.equal(outcome.resourceType, 'OperationOutcome');
  assert.match(outcome.issue[0].diagnostics, /Condition/);

  // Without _since: every granted patient's lab results (C's too: no cohort here), never the labelled or vital ones.
  const all = await exportAll(researcher, `${FHIR}/Patient/$export?_type=Observation`);
  const observations = all.byType.get('Observation')!;
  assert.equal(observations.length, 3 * 6 + 1);
  for (const o of observations as Observation[]) {
    assert.equal(o.meta?.security, undefined);
    assert.equal(o.category?.[0]?.coding?.[0]?.code, 'laboratory');
    assert.notEqual(o.subject?.reference, `Patient/${ids[3]}`);
  }
});

test('DELETE cancels a running export; a revoked grant stops the download of a finished one', async () => {
  let release!: () => void;
  hold = new Promise((resolve) => (release = resolve));
  const k = await kickOff(researcher, `${FHIR}/Patient/$export`);
  const statusUrl = k.headers.get('content-location')!;
  const jobId = statusUrl.split('/').pop()!;
  assert.equal((await call(researcher, 'DELETE', statusUrl)).status, 202);
  assert.equal((await call(researcher, 'GET', statusUrl)).status, 404);
  hold = undefined;
  release();
  assert.equal((await call(researcher, 'DELETE', statusUrl)).status, 404);
  const [left] = await gk.db.query<{ n: number }>(sql`SELECT count(*)::int AS n FROM bulk_export_files WHERE job_id = ${jobId}`);
  assert.equal(left!.n, 0);
  assert.equal(existsSync(join(exportDir, jobId)), false);

  const { manifest } = await exportAll(researcher, `${FHIR}/Group/${studyId}/$export?_type=Observation`);
  for (const { client, relationshipId } of grantors) {
    await applied((await revokeViewer(client, { relationshipId, viewer: researcher.address, scope: 'Observation?category=laboratory' })).blockNumber);
  }
  const refused = await call(researcher, 'GET', manifest.output[0]!.url);
  assert.equal(refused.status, 403, refused.text);
});

test('an export a stopped gatekeeper left running is run again by the next one on the same database', async () => {
  const dataDir = tempDir('medledger-bulk-restart-');
  const options = { bulk: { directory: join(dataDir, 'files'), pace: async () => hold } };
  let first: RunningGatekeeper | undefined = await startGatekeeper({ ...options, ledger: provider, database: { dataDir } });
  let second: RunningGatekeeper | undefined;
  try {
    const { id } = await first.store.create({ resourceType: 'Patient', name: [{ family: 'Restart' }] });
    await first.store.create(observation(id, 'laboratory', 11));
    hold = new Promise(() => undefined); // never released: the first gatekeeper stops mid-export
    const own = provider.account as LocalAccount;
    const k = await call(own, 'GET', `${FHIR}/Patient/$export`, { prefer: 'respond-async' }, first);
    assert.equal(k.status, 202, k.text);
    const statusPath = k.headers.get('content-location')!.slice(first.url.length);
    await first.close();
    first = undefined;
    hold = undefined;
    second = await startGatekeeper({ ...options, ledger: provider, database: { dataDir } });
    const manifest = await manifestOf(own, statusPath, second);
    assert.deepEqual(manifest.output.map((o) => [o.type, o.count]).sort(), [['Observation', 1], ['Patient', 1]]);
  } finally {
    await first?.close();
    await second?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
