/**
 * The four UCI heart-disease hospitals as research-site processes (src/manager/research-sites.ts,
 * `medledger research-site`): they come up over HTTP, refuse unsigned requests, each holds only its
 * own hospital's patients, the seeded consenting share is enrolled on chain by the patients' own
 * signatures, and stopping them leaves no process behind.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { privateKeyToAccount, generatePrivateKey } from 'viem/accounts';
import type { Hex } from 'viem';
import type { Bundle, Patient } from '@medplum/fhirtypes';
import { testConfig } from '../bench/harness/chain.js';
import { createLedgerClient, type LedgerClient } from '../src/chain/client.js';
import { startChain, type ChainRuntime } from '../src/chain/runtime.js';
import { consentingRows, heartPatientAccount, HEART_SITE_SEED, heartSiteUser, researchSitesDir } from '../src/demo/heart-sites.js';
import { unlockUser } from '../src/keys/users.js';
import { HEART_COUNTS } from '../src/ml/heart-codes.js';
import { heartStudyDefinition } from '../src/ml/research/heart-study.js';
import { startResearchSites, type RunningResearchSites } from '../src/manager/research-sites.js';
import { studyPath, type StudySiteStatus } from '../src/protocol/research/messages.js';
import { gatekeeperClient } from '../src/sdk/gatekeeper.js';
import { loadPepper } from '../src/sdk/identity.js';
import { enrollmentsOf, isEnrolled, registerStudy } from '../src/sdk/studies.js';
import { binary } from './helpers/cli.js';
import { alive, until } from './helpers/processes.js';

const SHARE = 0.5;
/** Three of the four hospitals (a study's minimum), the smallest, to keep the suite lean; the bench runs all four. */
const HOSPITALS = ['hungarian', 'switzerland', 'va'] as const;
let runtime: ChainRuntime;
let sponsor: LedgerClient;
let studyId: Hex;
let running: RunningResearchSites;
const cfg = testConfig();

before(async () => {
  binary(); // the sites run the compiled CLI
  runtime = await startChain(cfg);
  const account = privateKeyToAccount(generatePrivateKey());
  await runtime.fund(account.address);
  sponsor = createLedgerClient(runtime.deployment, { account, pollingIntervalMs: cfg.pollingIntervalMs });
  const expiresAt = new Date(Date.now() + 365 * 86_400_000).toISOString();
  ({ studyId } = await registerStudy(sponsor, heartStudyDefinition({ sponsor: { name: 'Test sponsor', address: account.address }, expiresAt })));
  running = await startResearchSites({ runtime, dataDir: cfg.dataDir, pepper: loadPepper(cfg.dataDir), study: studyId, consentShare: SHARE, hospitals: HOSPITALS });
});

after(async () => {
  await running?.stop();
  await runtime?.stop();
});

test('the site processes answer FHIR metadata and refuse unsigned reads', async () => {
  assert.deepEqual(running.sites.map((s) => s.hospital), [...HOSPITALS]);
  assert.equal(new Set(running.sites.map((s) => s.pid)).size, HOSPITALS.length);
  for (const site of running.sites) {
    assert.notEqual(site.pid, process.pid);
    const metadata = await fetch(`${site.url}/fhir/R4/metadata`);
    assert.equal(metadata.status, 200);
    assert.equal(((await metadata.json()) as { resourceType: string }).resourceType, 'CapabilityStatement');
    const unsigned = await fetch(`${site.url}/fhir/R4/Patient`);
    assert.equal(unsigned.status, 401);
    assert.equal(((await unsigned.json()) as { resourceType: string }).resourceType, 'OperationOutcome');
  }
});

test("each site holds exactly its own hospital's patients", async () => {
  for (const site of running.sites) {
    const account = unlockUser(researchSitesDir(cfg.dataDir), heartSiteUser(site.hospital));
    assert.equal(account.address, site.provider);
    const own = gatekeeperClient({ url: site.url, gatekeeper: site.provider, chainId: runtime.deployment.chainId, account });
    const ids: string[] = [];
    for (let offset = 0; ; offset += 100) {
      const page = (await own.get<Bundle<Patient>>(`/fhir/R4/Patient?_count=100&_offset=${offset}`)).body;
      const batch = (page.entry ?? []).map((e) => e.resource!.id!);
      ids.push(...batch);
      if (batch.length < 100) break;
    }
    assert.equal(ids.length, HEART_COUNTS[site.hospital].rows, site.hospital);
    assert.ok(ids.every((id) => id.startsWith(`${site.hospital}-`)), site.hospital);
  }
});

test('the seeded consenting share is enrolled on chain, and each site counts its own', async () => {
  const expected = HOSPITALS.map((h) => consentingRows(HEART_SITE_SEED, h, SHARE));
  const enrolled = await enrollmentsOf(sponsor, studyId);
  assert.equal(enrolled.length, expected.reduce((n, rows) => n + rows.length, 0));
  const va = expected[2]!;
  const outsider = [...Array(HEART_COUNTS.va.rows).keys()].find((row) => !va.includes(row))!;
  assert.equal(await isEnrolled(sponsor, studyId, heartPatientAccount(HEART_SITE_SEED, 'va', va[0]!).address), true);
  assert.equal(await isEnrolled(sponsor, studyId, heartPatientAccount(HEART_SITE_SEED, 'va', outsider).address), false);
  for (const [i, site] of running.sites.entries()) {
    const asSponsor = gatekeeperClient({ url: site.url, gatekeeper: site.provider, chainId: runtime.deployment.chainId, account: sponsor.account! });
    const status = (await asSponsor.get<StudySiteStatus>(studyPath(studyId))).body;
    assert.equal(status.count, expected[i]!.length, site.hospital);
  }
  // A second enrolment pass changes nothing: everyone asked has answered.
  assert.deepEqual(await running.enroll(studyId, SHARE), { enrolled: 0, unchanged: enrolled.length });
});

test('stop leaves no site process behind', async () => {
  const pids = running.sites.map((s) => s.pid);
  await running.stop();
  assert.ok(await until(() => pids.every((pid) => !alive(pid))), 'every site process exited');
});
