/**
 * Consented studies through real gatekeepers over HTTP (issue 16): four providers' gatekeepers hold
 * UCI heart rows of patients with their own keys, some enrolled on chain. The coordinator's secure
 * rounds give exactly the sum of the sites' updates (over consenting patients only), a site that
 * drops mid-round is recovered, a patient who withdraws is out of the next round at every site, and
 * unknown, expired, tampered, unopened, too-small and non-sponsor requests are refused. Then a whole
 * study runs with runStudy while one site goes down mid-round.
 *
 * The sites run E's heart ResearchSite without its noise here, so a sum can be compared exactly
 * with the updates computed in this process; the noise itself is tested in the research tests.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Resource } from '@medplum/fhirtypes';
import { getAddress, type Address, type Hex, type LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import type { Decision } from '../src/gatekeeper/audit/audit.js';
import type { RunningGatekeeper } from '../src/gatekeeper/run.js';
import { HEART_HOSPITALS, loadHeartDisease } from '../src/ml/data.js';
import { heartRowToFhir } from '../src/ml/uci-fhir.js';
import { createHeartResearchSite } from '../src/ml/research/site.js';
import { applyRound, initialStudyModel, type StudyModel } from '../src/ml/research/model.js';
import { secureRound, type StudySiteLink } from '../src/ml/research/coordinator-round.js';
import { runStudy } from '../src/ml/research/coordinator.js';
import { roundConsentSetHash, siteConsentSetHash, studyConsentSetHash } from '../src/protocol/research/consent-sets.js';
import { roundPath, studyPath, type KeysAnswer, type StudySiteStatus } from '../src/protocol/research/messages.js';
import { sortedSites } from '../src/protocol/research/round-session.js';
import { studyHash, validateStudy, type StudyDefinition } from '../src/protocol/research/study.js';
import type { LedgerClient } from '../src/chain/client.js';
import { GatekeeperRequestError, gatekeeperClient } from '../src/sdk/gatekeeper.js';
import { enrollWithSignatures, openStudyRound, registerStudy, signEnrollment, studyOf, withdrawFromStudy } from '../src/sdk/studies.js';
import { startFixture, type Fixture } from '../bench/harness/chain.js';
import { clientFor, sendRaw, startTestGatekeeper } from './helpers/gatekeeper.js';
import { travel, travelSkip } from './helpers/time.js';

const ROWS = 16;
/** Rows per site that are linked but never enrol. */
const NOT_ENROLLED = 2;
const research = createHeartResearchSite({ withoutPrivacy: true });

interface Site {
  gk: RunningGatekeeper;
  provider: Address;
  patients: { account: LocalAccount; resources: Resource[] }[];
}

let f: Fixture;
let sponsorAccount: LocalAccount;
let sponsor: LedgerClient;
let stranger: LocalAccount;
const sites: Site[] = [];
const closed = new Set<RunningGatekeeper>();
const decisions: Decision[] = [];
let study: StudyDefinition;
let studyId: Hex;

const definition = (title: string, rounds = 3): StudyDefinition =>
  validateStudy({
    version: 1,
    title,
    sponsor: { name: 'Heart study group', address: sponsorAccount.address },
    purpose: 'Learn heart-disease risk across hospitals',
    data: { features: ['age', 'sex', 'cp', 'trestbps', 'chol', 'thalach'] },
    inclusion: 'adults with a heart work-up',
    model: { type: 'logistic-regression', rounds, learningRate: 0.5, siteIntercept: true },
    privacy: { epsilon: 2, delta: 1e-5, clip: 1, minSites: 3 },
    expiresAt: new Date(Date.now() + 180 * 86_400_000).toISOString(),
  });

/** Registers `def` and enrols `who` of every site's patients by their signatures (relayed by the sponsor). */
async function registerAndEnrol(def: StudyDefinition, who: (i: number) => boolean): Promise<Hex> {
  const { studyId: id } = await registerStudy(sponsor, def);
  const signed = await Promise.all(sites.flatMap((s) => s.patients.filter((_, i) => who(i)).map((p) => signEnrollment(p.account, id, sponsor))));
  await enrollWithSignatures(sponsor, id, signed);
  return id;
}

before(async () => {
  f = await startFixture();
  sponsorAccount = await f.newAccount();
  sponsor = f.as(sponsorAccount);
  stranger = await f.newAccount();
  for (const hospital of HEART_HOSPITALS) {
    const provider = await f.newProvider();
    const gk = await startTestGatekeeper(provider, { research, onDecision: (d) => decisions.push(d) });
    const set = loadHeartDisease(hospital);
    const patients = Array.from({ length: ROWS }, (_, row) => {
      const account = privateKeyToAccount(generatePrivateKey());
      return { account, resources: heartRowToFhir(hospital, row, set.x.data.subarray(row * set.x.cols, (row + 1) * set.x.cols), set.y[row]!, account.address) };
    });
    await gk.store.createMany(patients.flatMap((p) => p.resources));
    sites.push({ gk, provider: gk.chain.provider, patients });
  }
  study = definition('Heart-disease risk across hospitals');
  studyId = await registerAndEnrol(study, (i) => i >= NOT_ENROLLED);
});

after(async () => {
  for (const s of sites) if (!closed.has(s.gk)) await s.gk.close();
  await f?.close();
});

const linkOf = (s: Site): StudySiteLink => ({ provider: s.provider, client: clientFor(s.gk, sponsor, sponsorAccount) });
const names = () => sortedSites(sites.map((s) => s.provider));

/** What each site's update is, computed here from the records of the patients it should use. */
function expectedSum(def: StudyDefinition, round: number, model: StudyModel, used: (s: Site, i: number) => boolean, among = sites): number[] {
  const vectors = among.map((s) =>
    research.localUpdate(def, round, model, s.patients.filter((_, i) => used(s, i)).flatMap((p) => p.resources), { site: s.provider.toLowerCase(), sites: names() }),
  );
  return vectors[0]!.map((_, j) => vectors.reduce((a, v) => a + v[j]!, 0));
}

function assertSum(actual: number[], expected: number[]) {
  assert.equal(actual.length, expected.length);
  // Fixed point 2^-32 per site: the sum is exact to a few 2^-33.
  actual.forEach((v, j) => assert.ok(Math.abs(v - expected[j]!) < 1e-8, `value ${j}: ${v} ≠ ${expected[j]}`));
}

const enrolled = (_: Site, i: number) => i >= NOT_ENROLLED;
let model: StudyModel;

test('a round over HTTP sums exactly the consenting patients\' updates of every site', async () => {
  await openStudyRound(sponsor, studyId, 1, 0.5);
  model = initialStudyModel(study, names());
  const outcome = await secureRound({ studyId, definition: study, round: 1, model, sites: sites.map(linkOf), needed: 3 });
  assert.deepEqual(outcome.survivors, sites.map((s) => s.provider));
  assert.deepEqual(outcome.dropped, []);
  const expected = expectedSum(study, 1, model, enrolled);
  assertSum(outcome.sum, expected);
  // The row counts in the sum: the training rows of the 14 consenting patients per site, none of the other two.
  assert.ok(expected.slice(-4).every((rows) => rows > 0 && rows <= ROWS - NOT_ENROLLED));
  const siteHashes = sites.map((s) => ({ provider: s.provider, consentSetHash: siteConsentSetHash(s.patients.slice(NOT_ENROLLED).map((p) => p.account.address)) }));
  assert.equal(outcome.consentSetHash, roundConsentSetHash(siteHashes));
  model = applyRound(study, model, outcome.sum);
});

test('a patient who withdraws is out of the next round at every site', async () => {
  const status = async (s: Site) => (await clientFor(s.gk, sponsor, sponsorAccount).get<StudySiteStatus>(studyPath(studyId))).body;
  assert.deepEqual(await status(sites[0]!), { studyId, provider: sites[0]!.provider, count: ROWS - NOT_ENROLLED, display: String(ROWS - NOT_ENROLLED) });
  // The first enrolled patient of each site withdraws, with their own key.
  for (const s of sites) {
    const patient = s.patients[NOT_ENROLLED]!.account;
    await f.runtime.fund(patient.address);
    await withdrawFromStudy(f.as(patient), studyId);
  }
  for (const s of sites) assert.equal((await status(s)).count, ROWS - NOT_ENROLLED - 1);
  await openStudyRound(sponsor, studyId, 2, 1);
  const outcome = await secureRound({ studyId, definition: study, round: 2, model, sites: sites.map(linkOf), needed: 3 });
  const stillIn = (_: Site, i: number) => i > NOT_ENROLLED;
  assertSum(outcome.sum, expectedSum(study, 2, model, stillIn));
  const withThem = expectedSum(study, 2, model, enrolled);
  assert.ok(outcome.sum.some((v, j) => Math.abs(v - withThem[j]!) > 1e-6), 'the withdrawn patients changed nothing');
  model = applyRound(study, model, outcome.sum);
});

test('refused: unknown study, stranger, tampered definition, unopened or past round, too few or unaccredited sites, a second start, swapped keys', async () => {
  const as = (account: LocalAccount, s = sites[0]!) => clientFor(s.gk, sponsor, account);
  const keys = (round: number, body: object, account = sponsorAccount) =>
    as(account).post(roundPath(studyId, round, 'keys'), { definition: study, sites: sites.map((s) => s.provider), model, ...body });
  const refused = (status: number, pattern: RegExp) => (err: GatekeeperRequestError) => err.status === status && pattern.test(err.message);

  const unknown = `0x${'ab'.repeat(32)}` as Hex;
  await assert.rejects(as(sponsorAccount).get(studyPath(unknown)), refused(404, /no study/));
  await assert.rejects(as(sponsorAccount).post(roundPath(unknown, 1, 'keys'), { definition: study }), refused(404, /no study/));
  await assert.rejects(as(stranger).get(studyPath(studyId)), refused(403, /not the sponsor/));
  await assert.rejects(keys(2, {}, stranger), refused(403, /not the sponsor/));
  const tampered = { ...study, privacy: { ...study.privacy, epsilon: 50 } };
  await assert.rejects(keys(2, { definition: tampered }), refused(409, /does not match the hash/));
  await assert.rejects(keys(2, { definition: { ...study, title: 7 } }), refused(400, /title must be non-empty text/));
  await assert.rejects(keys(3, {}), refused(409, /round 3 is not open on chain/));
  await assert.rejects(keys(1, {}), refused(409, /round 1 is over/));
  await assert.rejects(keys(2, { sites: sites.slice(0, 2).map((s) => s.provider) }), refused(409, /at least 3 sites/));
  await assert.rejects(keys(2, { sites: sites.slice(0, 3).map((s) => s.provider) }), refused(409, /already started here with other sites/));
  await assert.rejects(keys(2, { sites: [...sites.slice(0, 3).map((s) => s.provider), stranger.address] }), refused(409, /is not an accredited provider/));
  // A coordinator that swaps a site's keys for its own is caught by the site's signature.
  const { advert } = (await keys(2, {})).body as KeysAnswer;
  const swapped = { ...advert, maskPublicKey: advert.cipherPublicKey };
  await assert.rejects(as(sponsorAccount).post(roundPath(studyId, 2, 'shares'), { definition: study, adverts: [swapped, advert, advert] }), refused(400, /are not signed by that site/));
  await assert.rejects(as(sponsorAccount).post(roundPath(studyId, 2, 'unmask'), { definition: study, survivors: sites.slice(0, 2).map((s) => s.provider), dropped: [] }), refused(409, /needs at least 3/));
  const unsigned = await sendRaw(sites[0]!.gk, sponsor, 'none', { method: 'GET', path: studyPath(studyId) });
  assert.equal(unsigned.status, 401);
  assert.equal(unsigned.body.resourceType, 'OperationOutcome');

  const elsewhere = await startTestGatekeeper(f.as(await f.newAccount()));
  try {
    await assert.rejects(clientFor(elsewhere, sponsor, sponsorAccount).get(studyPath(studyId)), refused(404, /no research studies/));
  } finally {
    await elsewhere.close();
  }
  // Every answer is audited, refusals included.
  const research = decisions.filter((d) => d.path.startsWith('/research/'));
  assert.ok(research.some((d) => d.permitted && getAddress(d.requester) === sponsorAccount.address && d.path.endsWith('/keys')));
  assert.ok(research.some((d) => !d.permitted && getAddress(d.requester) === stranger.address && d.status === 403));
  assert.ok(research.some((d) => !d.permitted && d.status === 409 && /does not match/.test(d.reason ?? '')));
});

test('a site that drops after sharing its keys is recovered: its masks cancel, the sum is the others\' exactly', async () => {
  await openStudyRound(sponsor, studyId, 3, 2);
  const [first, ...rest] = sites;
  const dead = gatekeeperClient({ url: 'http://127.0.0.1:9', gatekeeper: first!.provider, chainId: sponsor.chainId, account: sponsorAccount });
  const live = linkOf(first!);
  // The coordinator loses the first site after the shares phase: its masked update never arrives.
  const dropping: StudySiteLink = { provider: first!.provider, client: { post: (path, body) => (path.endsWith('/masked') ? dead.post(path, body) : live.client.post(path, body)) } };
  const outcome = await secureRound({ studyId, definition: study, round: 3, model, sites: [dropping, ...rest.map(linkOf)], needed: 3 });
  assert.deepEqual(outcome.survivors, rest.map((s) => s.provider));
  assert.deepEqual(outcome.dropped.map((d) => [d.provider, d.phase]), [[first!.provider, 'masked']]);
  assertSum(outcome.sum, expectedSum(study, 3, model, (_, i) => i > NOT_ENROLLED, rest));
});

test('runStudy: a whole study over HTTP survives a site going down mid-round and records its result on chain', async () => {
  const def = definition('Heart-disease risk, second look', 2);
  const id = await registerAndEnrol(def, (i) => i < 3);
  const one = await clientFor(sites[1]!.gk, sponsor, sponsorAccount).get<StudySiteStatus>(studyPath(id));
  assert.deepEqual(one.body, { studyId: id, provider: sites[1]!.provider, display: '<5' }, 'counts 1–4 are not shown');
  const rest = await Promise.all(sites.flatMap((s) => s.patients.slice(3).map((p) => signEnrollment(p.account, id, sponsor))));
  await enrollWithSignatures(sponsor, id, rest);

  const down = sites[3]!;
  const steps: string[] = [];
  const run = await runStudy({
    sponsor,
    definition: def,
    sites: sites.map((s, i) => ({ provider: s.provider, url: s.gk.url, name: HEART_HOSPITALS[i] })),
    async onProgress(p) {
      steps.push(p.step === 'round' ? `${p.round}:${p.phase}` : p.step);
      if (p.step === 'round' && p.round === 1 && p.phase === 'shares') {
        closed.add(down.gk);
        await down.gk.close();
      }
    },
  });
  assert.deepEqual(steps, ['registered', ...[1, 2].flatMap((r) => ['opened', 'keys', 'shares', 'masked', 'unmask', 'applied'].map((p) => `${r}:${p}`)), 'evaluated', 'recorded']);
  assert.deepEqual(run.rounds.map((r) => r.sites), [3, 3]);
  assert.deepEqual(run.rounds[0]!.dropped.map((d) => [d.provider, d.phase]), [[down.provider, 'masked']]);
  assert.match(run.sites.find((s) => s.provider === down.provider)!.error!, /^dropped out in round 1 \(masked\): /);
  for (const s of run.sites.filter((s) => s.provider !== down.provider)) assert.ok(s.evaluation!.testRows + s.evaluation!.trainRows === ROWS, JSON.stringify(s));
  assert.equal(run.studyHash, studyHash(def));
  assert.equal(run.consentSetHash, studyConsentSetHash(run.rounds.map((r) => r.consentSetHash)));
  assert.deepEqual([run.card.research.studyId, run.card.modelHash, run.card.consentSetHash], [id, run.modelHash, run.consentSetHash]);
  const chain = (await studyOf(sponsor, id))!;
  assert.equal(chain.rounds, 2);
  assert.ok(Math.abs(chain.epsilonSpent - def.privacy.epsilon) < 1e-6);
  assert.deepEqual([chain.result?.modelHash, chain.result?.consentSetHash], [run.modelHash, run.consentSetHash]);
  await assert.rejects(runStudy({ sponsor, definition: def, sites: sites.map((s) => ({ provider: s.provider, url: s.gk.url })) }), /already run/);

  // With the closed site among three, too few are ready: the study stops before any round is opened.
  const third = definition('Heart-disease risk, three sites');
  const thirdId = await registerAndEnrol(third, () => true);
  const three = sites.slice(2).map((s) => ({ provider: s.provider, url: s.gk.url })).concat({ provider: sites[0]!.provider, url: sites[0]!.gk.url });
  await assert.rejects(runStudy({ sponsor, definition: third, sites: three }), /only 2 of 3 sites are ready; the study needs 3 \(no round was opened\)/);
  assert.equal((await studyOf(sponsor, thirdId))!.rounds, 0);
});

test('refused: an expired study (410)', { skip: travelSkip }, async () => {
  await travel(sponsor, 365 * 86_400);
  const s = sites[1]!;
  await assert.rejects(
    clientFor(s.gk, sponsor, sponsorAccount).post(roundPath(studyId, 3, 'keys'), { definition: study, sites: sites.map((x) => x.provider), model }),
    (err: GatekeeperRequestError) => err.status === 410 && /expired/.test(err.message),
  );
});
