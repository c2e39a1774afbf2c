/**
 * The site side of a consented study (issue 16), at /research/studies/{studyId}: the study's sponsor
 * asks, over signed requests, for this site's consent count, for the four secure-aggregation phases
 * of a round, and for held-out results of the final model. What leaves: a count (1–4 shown as "<5"),
 * public keys, encrypted Shamir shares, a masked update, the shares that unmask the sum, a consent-set
 * hash, and the evaluation's aggregates — never a record, an id or an address. A site signs its
 * phase-0 keys with its provider key and checks the other sites' signatures before it shares anything,
 * so the coordinator that relays them cannot put its own keys in their place.
 *
 * Every request is checked against the chain (research/study-checks.ts): sponsor, definition hash,
 * expiry; a round must be opened on chain and have enough sites, each an accredited provider. The
 * patients are this provider's linked patients enrolled on chain now, read afresh at each round's
 * start (research/consenting.ts). The computation is the injected ResearchSite
 * (src/protocol/research/site.ts), so the gatekeeper stays below the ML layer. Each round starts once,
 * each phase answers once (research/rounds.ts). Every answer is audited like any other request
 * (audited.ts); refusals are OperationOutcomes.
 */
import type { FastifyRequest } from 'fastify';
import { getAddress, isAddress, type Address } from 'viem';
import { advertMessage, verifiedAdverts, type EvaluateAnswer, type EvaluateRequest, type KeysAnswer, type KeysRequest, type MaskedAnswer, type MaskedRequest, type SharesAnswer, type SharesRequest, type StudySiteStatus, type UnmaskAnswer, type UnmaskRequest } from '../../protocol/research/messages.js';
import { siteConsentSetHash } from '../../protocol/research/consent-sets.js';
import type { ResearchSite, StudySiteContext } from '../../protocol/research/site.js';
import { consentingPatients, studyRecords } from '../research/consenting.js';
import { StudyRounds } from '../research/rounds.js';
import { roundSession, sortedSites } from '../../protocol/research/round-session.js';
import { checkedStudy, requireAccreditedSites, requireOpenRound, roundParam, sitesNeeded, sponsoredStudy, studyIdParam } from '../research/study-checks.js';
import { SecAggSite } from '../../protocol/research/secagg/index.js';
import type { Answer, Ctx, GatekeeperContext } from './context.js';
import { GatekeeperError } from './outcomes.js';

const rounds = new WeakMap<GatekeeperContext, StudyRounds>();
const roundsOf = (gk: GatekeeperContext) => rounds.get(gk) ?? rounds.set(gk, new StudyRounds(gk.db)).get(gk)!;

function researchOf(gk: GatekeeperContext): ResearchSite {
  if (!gk.research) throw new GatekeeperError(404, 'this provider takes part in no research studies');
  return gk.research;
}

const bodyOf = <T>(req: FastifyRequest): Partial<T> => ((req.body as { json?: unknown } | undefined)?.json ?? {}) as Partial<T>;

/** A list of provider addresses from a request body, checksummed (400 if it is not one). */
function addresses(value: unknown, field: string): Address[] {
  if (!Array.isArray(value) || !value.every((a) => typeof a === 'string' && isAddress(a, { strict: false }))) throw new GatekeeperError(400, `${field} must be a list of provider addresses`);
  const list = value.map((a: string) => getAddress(a));
  if (new Set(list).size !== list.length) throw new GatekeeperError(400, `${field} names a site twice`);
  return list;
}

/** Runs a ResearchSite or secure-aggregation step; what it refuses (bad model, bad message) is the request's fault: 400. */
function step<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new GatekeeperError(400, `${what}: ${(err as Error).message}`);
  }
}

/** GET /research/studies/:studyId — how many of this provider's patients consent, small counts hidden. */
export async function studySiteStatus(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx): Promise<Answer> {
  researchOf(gk);
  const { studyId } = await sponsoredStudy(gk.ledger, studyIdParam(req.params), ctx.address);
  const count = (await consentingPatients(gk.store, gk.ledger, studyId)).length;
  const small = count > 0 && count < 5;
  const body: StudySiteStatus = { studyId, provider: gk.provider, ...(small ? {} : { count }), display: small ? '<5' : String(count) };
  return { body };
}

/** POST …/rounds/:round/keys — phase 0: read the consenting patients now, compute the update, advertise keys. */
/** What every phase checks first: research at this site, the sponsor's study as the chain has it, its round open. */
async function openRound(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx) {
  const research = researchOf(gk);
  const round = roundParam(req.params);
  const study = await checkedStudy(gk.ledger, studyIdParam(req.params), ctx.address, bodyOf(req));
  requireOpenRound(study, round);
  return { research, round, study };
}

export async function roundKeys(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx): Promise<Answer> {
  const { research, round, study } = await openRound(gk, req, ctx);
  const { sites: sent, model } = bodyOf<KeysRequest>(req);
  const sites = addresses(sent, 'sites');
  if (!sites.includes(gk.provider)) throw new GatekeeperError(400, `sites must include this provider (${gk.provider})`);
  if (sites.length < sitesNeeded(study)) throw new GatekeeperError(409, `a round needs at least ${sitesNeeded(study)} sites; ${sites.length} were asked`);
  await requireAccreditedSites(gk.ledger, sites);
  const state = await roundsOf(gk).begin(study.studyId, round, sites, async () => {
    const patients = await consentingPatients(gk.store, gk.ledger, study.studyId);
    const context: StudySiteContext = { site: gk.provider.toLowerCase(), sites: sortedSites(sites) };
    const records = await studyRecords(gk.store, patients);
    const update = step('the site could not compute its update', () => research.localUpdate(study.definition, round, model, records, context));
    const session = roundSession(study.studyId, round, sites, update.length);
    const site = step('secure aggregation', () => new SecAggSite(session, context.site));
    const keys = site.advertise();
    const advert = { ...keys, signature: await gk.ledger.account!.signMessage({ message: advertMessage(keys) }) };
    return { session, site, update, advert, consentSetHash: siteConsentSetHash(patients.map((p) => p.address)) };
  });
  const body: KeysAnswer = { provider: gk.provider, advert: state.advert, length: state.session.length, consentSetHash: state.consentSetHash };
  return { body };
}

/** POST …/rounds/:round/shares — phase 1: Shamir shares of this site's secrets, one encrypted for each other site. */
export async function roundShares(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx): Promise<Answer> {
  const { round, study } = await openRound(gk, req, ctx);
  const { adverts } = bodyOf<SharesRequest>(req);
  if (!Array.isArray(adverts) || adverts.length < sitesNeeded(study)) throw new GatekeeperError(409, `a round needs keys from at least ${sitesNeeded(study)} sites`);
  const keys = await verifiedAdverts(adverts).catch((err: Error) => {
    throw new GatekeeperError(400, err.message);
  });
  const state = roundsOf(gk).started(study.studyId, round);
  const body: SharesAnswer = { shares: step('secure aggregation', () => state.site.shareKeys(keys)) };
  return { body };
}

/** POST …/rounds/:round/masked — phase 2: this site's update under its self mask and pairwise masks. */
export async function roundMasked(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx): Promise<Answer> {
  const { round, study } = await openRound(gk, req, ctx);
  const { shares } = bodyOf<MaskedRequest>(req);
  if (!Array.isArray(shares) || shares.length + 1 < sitesNeeded(study)) throw new GatekeeperError(409, `a round needs shares from at least ${sitesNeeded(study) - 1} other sites`);
  const state = roundsOf(gk).started(study.studyId, round);
  const body: MaskedAnswer = { masked: step('secure aggregation', () => state.site.maskInput(state.update, shares)) };
  return { body };
}

/** POST …/rounds/:round/unmask — phase 3: the shares that remove survivors' self masks and dropped sites' pairwise masks. */
export async function roundUnmask(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx): Promise<Answer> {
  const { round, study } = await openRound(gk, req, ctx);
  const sent = bodyOf<UnmaskRequest>(req);
  const survivors = addresses(sent.survivors, 'survivors');
  const dropped = addresses(sent.dropped ?? [], 'dropped');
  // Fewer survivors than the study's minimum would let the sum say too much about one site.
  if (survivors.length < sitesNeeded(study)) throw new GatekeeperError(409, `only ${survivors.length} sites sent a masked update; the study needs at least ${sitesNeeded(study)}`);
  if (!survivors.includes(gk.provider)) throw new GatekeeperError(409, 'this site is not among the survivors');
  const state = roundsOf(gk).started(study.studyId, round);
  const lower = (list: Address[]) => list.map((a) => a.toLowerCase());
  const body: UnmaskAnswer = { unmasking: step('secure aggregation', () => state.site.unmask(lower(survivors), lower(dropped))) };
  return { body };
}

/** POST /research/studies/:studyId/evaluate — this site's held-out results of a final model, over its consenting patients now. */
export async function evaluateStudy(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx): Promise<Answer> {
  const research = researchOf(gk);
  const study = await checkedStudy(gk.ledger, studyIdParam(req.params), ctx.address, bodyOf(req));
  if (study.chain.rounds === 0) throw new GatekeeperError(409, 'no round of this study has been opened on chain');
  const { model, sites: sent } = bodyOf<EvaluateRequest>(req);
  const sites = addresses(sent, 'sites');
  if (!sites.includes(gk.provider)) throw new GatekeeperError(400, `sites must include this provider (${gk.provider})`);
  const records = await studyRecords(gk.store, await consentingPatients(gk.store, gk.ledger, study.studyId));
  const context: StudySiteContext = { site: gk.provider.toLowerCase(), sites: sortedSites(sites) };
  const result = step('the site could not evaluate the model', () => research.evaluate(study.definition, model, records, context));
  const body: EvaluateAnswer = { provider: gk.provider, result };
  return { body };
}
