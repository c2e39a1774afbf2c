/**
 * The coordinator of a consented study (issue 16): it registers the study on chain if it is not yet,
 * then for each round opens it on chain (spending its share of the study's ε, so every site can see
 * the spend before it computes), runs the round's secure aggregation over HTTP with the sites'
 * gatekeepers (coordinator-round.ts), and takes the model step on the sum (model.ts applyRound). At
 * the end each site evaluates the final model on its own held-out patients, the model's hash and
 * consent-set hash are recorded on chain, and the model card is built (card.ts).
 *
 * It reaches the sites only over HTTP, signed with the sponsor's key, and holds no store: it runs in
 * the CLI and in the researcher's browser alike (fetch, viem, noble; no Node built-ins). A site that
 * fails mid-round is dropped from that round (its masks cancelled) and from the rounds after; the
 * study fails only when fewer sites than it needs are left. Before the first round every site is
 * asked for the study, so an unreachable or misconfigured site does not cost the study its budget.
 *
 * A study runs once: its rounds spend its whole privacy budget, and the chain refuses more. That is
 * the defence against differencing two runs (privacy.ts): a second look needs a new study, which
 * patients consent to anew.
 */
import type { Address, Hex } from 'viem';
import { studyConsentSetHash } from '../../protocol/research/consent-sets.js';
import { studyPath, type EvaluateAnswer, type RoundPhase, type StudySiteStatus } from '../../protocol/research/messages.js';
import { sortedSites } from '../../protocol/research/round-session.js';
import { MIN_STUDY_SITES, studyHash, validateStudy, type StudyDefinition } from '../../protocol/research/study.js';
import type { LedgerClient } from '../../chain/client.js';
import { gatekeeperClient, type GatekeeperClient } from '../../sdk/gatekeeper.js';
import { openStudyRound, recordStudyResult, registerStudy, studyIdOf, studyMismatch, studyOf } from '../../sdk/studies.js';
import { DEFAULT_SITE_TIMEOUT_MS, secureRound, withTimeout, type DroppedSite, type StudySiteLink } from './coordinator-round.js';
import { studyModelCard, type StudyModelCard } from './card.js';
import { combineEvaluations, type SiteEvaluation } from './evaluate.js';
import { applyRound, initialStudyModel, studyModelHash, type StudyModel } from './model.js';
import { epsilonSpentAfter } from './privacy.js';

/** A site of the study: its provider address and its gatekeeper's URL (and a name to show). */
export interface StudySite {
  provider: Address;
  url: string;
  name?: string;
}

/** What runStudy reports as it goes (a progress bar: `done` of `total` steps). */
export type StudyProgress =
  | { step: 'registered'; studyId: Hex; done: number; total: number }
  | { step: 'round'; round: number; rounds: number; phase: RoundPhase | 'opened' | 'applied'; sites: number; done: number; total: number }
  | { step: 'evaluated'; done: number; total: number }
  | { step: 'recorded'; done: number; total: number };

export interface RunStudyOptions {
  /** The sponsor's signing client (the definition's sponsor address). */
  sponsor: LedgerClient;
  definition: StudyDefinition;
  sites: readonly StudySite[];
  /** Told after every step; a promise it returns is awaited (so a caller can act between phases). */
  onProgress?: (p: StudyProgress) => void | Promise<void>;
  /** How long a site may take to answer one request before it counts as dropped (default 2 minutes). */
  siteTimeoutMs?: number;
}

export interface StudyRoundReport {
  round: number;
  sites: number;
  dropped: DroppedSite[];
  epsilonSpent: number;
  consentSetHash: Hex;
  bytes: number;
  ms: number;
}

export interface StudySiteResult {
  provider: Address;
  name?: string;
  /** The site's held-out evaluation, when it answered. */
  evaluation?: SiteEvaluation;
  /** Why it did not (it dropped out, or refused). */
  error?: string;
}

export interface StudyRun {
  studyId: Hex;
  studyHash: Hex;
  model: StudyModel;
  modelHash: Hex;
  consentSetHash: Hex;
  epsilonSpent: number;
  rounds: StudyRoundReport[];
  sites: StudySiteResult[];
  /** Pooled held-out AUC and calibration over the sites that evaluated. */
  pooled: ReturnType<typeof combineEvaluations>;
  card: StudyModelCard;
  /** Mean over rounds. */
  bytesPerRound: number;
  roundMs: number;
}

const now = () => (typeof performance === 'undefined' ? Date.now() : performance.now());

/** Registers the study when the chain does not have it yet; refuses one whose on-chain terms differ or whose rounds are spent. */
async function registered(sponsor: LedgerClient, definition: StudyDefinition): Promise<{ studyId: Hex; hash: Hex }> {
  const hash = studyHash(definition);
  const studyId = studyIdOf(definition.sponsor.address, hash);
  let chain = await studyOf(sponsor, studyId);
  if (!chain) {
    await registerStudy(sponsor, definition);
    chain = (await studyOf(sponsor, studyId))!;
  }
  const mismatch = studyMismatch(chain, definition);
  if (mismatch) throw new Error(mismatch);
  if (chain.rounds > 0) throw new Error(`study ${studyId} has already run (${chain.rounds} of its rounds are opened on chain): a study runs once — register a new one`);
  return { studyId, hash };
}

type SiteLink = StudySiteLink & StudySite & { client: GatekeeperClient };

/**
 * Asks every site for the study before any round is opened (and ε spent): a site that cannot be
 * reached or refuses (no research there, another chain) is left out with its reason; too few left
 * and the study stops here, its budget untouched.
 */
async function checkSites(links: readonly SiteLink[], studyId: Hex, needed: number, timeoutMs: number): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  await Promise.all(
    links.map(async (l) => {
      try {
        await withTimeout(l.client.get<StudySiteStatus>(studyPath(studyId)), timeoutMs);
      } catch (err) {
        out.set(l.provider.toLowerCase(), `not ready: ${(err as Error).message}`);
      }
    }),
  );
  if (links.length - out.size < needed) {
    const why = links.flatMap((l) => (out.has(l.provider.toLowerCase()) ? [`${l.name ?? l.provider}: ${out.get(l.provider.toLowerCase())}`] : []));
    throw new Error(`only ${links.length - out.size} of ${links.length} sites are ready; the study needs ${needed} (no round was opened) — ${why.join('; ')}`);
  }
  return out;
}

/** Each site's held-out evaluation of the final model, over HTTP; a site that fails is reported, not fatal. */
async function evaluateSites(links: readonly SiteLink[], definition: StudyDefinition, model: StudyModel, studyId: Hex, gone: ReadonlyMap<string, string>): Promise<StudySiteResult[]> {
  const sites = sortedSites(links.map((l) => l.provider));
  return Promise.all(
    links.map(async (l): Promise<StudySiteResult> => {
      const base = { provider: l.provider, ...(l.name ? { name: l.name } : {}) };
      const why = gone.get(l.provider.toLowerCase());
      if (why) return { ...base, error: why };
      try {
        const answer = (await l.client.post<EvaluateAnswer>(`${studyPath(studyId)}/evaluate`, { definition, model, sites })).body;
        return { ...base, evaluation: answer.result as SiteEvaluation };
      } catch (err) {
        return { ...base, error: (err as Error).message };
      }
    }),
  );
}

/** Runs the study end to end (see the file comment). Throws when the chain refuses or too few sites are left. */
export async function runStudy(o: RunStudyOptions): Promise<StudyRun> {
  const definition = validateStudy(o.definition);
  const account = o.sponsor.account;
  if (!account) throw new Error('running a study needs the sponsor\'s signing account');
  const needed = Math.max(MIN_STUDY_SITES, definition.privacy.minSites);
  if (o.sites.length < needed) throw new Error(`the study needs at least ${needed} sites; ${o.sites.length} were given`);
  const rounds = definition.model.rounds;
  const total = rounds * 6 + 3;
  let done = 0;
  const { studyId, hash } = await registered(o.sponsor, definition);
  const links: SiteLink[] = o.sites.map((s) => ({ ...s, client: gatekeeperClient({ url: s.url.replace(/\/+$/, ''), gatekeeper: s.provider, chainId: o.sponsor.chainId, account }) }));
  const timeoutMs = o.siteTimeoutMs ?? DEFAULT_SITE_TIMEOUT_MS;
  const gone = await checkSites(links, studyId, needed, timeoutMs);
  await o.onProgress?.({ step: 'registered', studyId, done: ++done, total });

  const privacy = { ...definition.privacy, rounds };
  let model = initialStudyModel(definition, sortedSites(links.map((l) => l.provider)));
  const reports: StudyRoundReport[] = [];
  for (let round = 1; round <= rounds; round++) {
    const live = links.filter((l) => !gone.has(l.provider.toLowerCase()));
    const progress = async (phase: RoundPhase | 'opened' | 'applied', sites: number) => o.onProgress?.({ step: 'round', round, rounds, phase, sites, done: ++done, total });
    const epsilonSpent = epsilonSpentAfter(privacy, round);
    await openStudyRound(o.sponsor, studyId, round, epsilonSpent);
    await progress('opened', live.length);
    const started = now();
    const outcome = await secureRound({ studyId, definition, round, model, sites: live, needed, timeoutMs, onPhase: (phase, sites) => progress(phase, sites.length) });
    for (const d of outcome.dropped) gone.set(d.provider.toLowerCase(), `dropped out in round ${round} (${d.phase}): ${d.reason}`);
    model = applyRound(definition, model, outcome.sum);
    reports.push({ round, sites: outcome.survivors.length, dropped: outcome.dropped, epsilonSpent, consentSetHash: outcome.consentSetHash, bytes: outcome.bytes, ms: now() - started });
    await progress('applied', outcome.survivors.length);
  }

  const sites = await evaluateSites(links, definition, model, studyId, gone);
  await o.onProgress?.({ step: 'evaluated', done: ++done, total });
  const modelHash = studyModelHash(model);
  const consentSetHash = studyConsentSetHash(reports.map((r) => r.consentSetHash));
  const recorded = await recordStudyResult(o.sponsor, studyId, modelHash, consentSetHash);
  await o.onProgress?.({ step: 'recorded', done: total, total });
  const evaluations = sites.flatMap((s) => (s.evaluation ? [s.evaluation] : []));
  const epsilonSpent = epsilonSpentAfter(privacy, rounds);
  const chain = { registry: o.sponsor.studyRegistry!, studyId, studyHash: hash, epsilonSpent, rounds, transactionHash: recorded.transactionHash, blockNumber: String(recorded.blockNumber) };
  const siteNames = Object.fromEntries(o.sites.flatMap((s) => (s.name ? [[s.provider.toLowerCase(), s.name]] : [])));
  const mean = (f: (r: StudyRoundReport) => number) => reports.reduce((a, r) => a + f(r), 0) / reports.length;
  return {
    studyId,
    studyHash: hash,
    model,
    modelHash,
    consentSetHash,
    epsilonSpent,
    rounds: reports,
    sites,
    pooled: combineEvaluations(evaluations),
    card: studyModelCard({ study: definition, model, evaluations, consentSetHash, chain, siteNames }),
    bytesPerRound: mean((r) => r.bytes),
    roundMs: mean((r) => r.ms),
  };
}
