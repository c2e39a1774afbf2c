/**
 * One round of a study over HTTP, from the coordinator's side: the four phases of secure aggregation
 * (Bonawitz et al., CCS 2017, https://eprint.iacr.org/2017/281) relayed between the sites' gatekeepers
 * (src/gatekeeper/http/research.ts), every request signed by the sponsor. The coordinator learns the
 * sum over the sites that sent a masked update, never one site's update.
 *
 * A site that fails in a phase (unreachable, too slow, or refusing) is dropped from the rest of the
 * round: before it sent a masked update it simply does not count; after it sent its shares, the
 * survivors reveal its mask key's shares so its pairwise masks cancel. The round fails only when
 * fewer sites than the study needs are left. Browser-safe: fetch through src/sdk/gatekeeper.ts.
 */
import type { Address, Hex } from 'viem';
import { roundConsentSetHash } from '../../protocol/research/consent-sets.js';
import {
  roundPath,
  type KeysAnswer,
  type MaskedAnswer,
  type RoundPhase,
  type SharesAnswer,
  type UnmaskAnswer,
} from '../../protocol/research/messages.js';
import { roundSession } from '../../protocol/research/round-session.js';
import { aggregate, type EncryptedShare } from '../../protocol/research/secagg/index.js';
import type { StudyDefinition } from '../../protocol/research/study.js';
import type { GatekeeperClient } from '../../sdk/gatekeeper.js';

/** One site as the coordinator reaches it. */
export interface StudySiteLink {
  provider: Address;
  /** A client signed by the sponsor for this site's gatekeeper. */
  client: Pick<GatekeeperClient, 'post'>;
}

/** A site that fell out of a round: in which phase, and why (the gatekeeper's diagnostics or the network error). */
export interface DroppedSite {
  provider: Address;
  phase: RoundPhase;
  reason: string;
}

export interface RoundOutcome {
  round: number;
  /** The sum of the survivors' updates. */
  sum: number[];
  /** Sites whose masked update is in the sum. */
  survivors: Address[];
  dropped: DroppedSite[];
  /** roundConsentSetHash of the survivors' consent sets. */
  consentSetHash: Hex;
  /** Bytes of JSON the coordinator sent and received in this round. */
  bytes: number;
}

export interface RoundOptions {
  studyId: Hex;
  definition: StudyDefinition;
  round: number;
  model: unknown;
  sites: readonly StudySiteLink[];
  /** Sites a round needs (the study's minimum, and never fewer than MIN_STUDY_SITES). */
  needed: number;
  /** How long one site may take to answer one phase before it counts as dropped. */
  timeoutMs?: number;
  /** Told after each phase, with the sites still in the round; a promise it returns is awaited. */
  onPhase?: (phase: RoundPhase, live: readonly Address[]) => void | Promise<void>;
}

/** Thrown when too few sites are left for a round: says which fell out and why. */
export class RoundFailed extends Error {
  constructor(
    readonly round: number,
    readonly dropped: readonly DroppedSite[],
    message: string,
  ) {
    super(message);
    this.name = 'RoundFailed';
  }
}

/** How long one site may take to answer one request by default. */
export const DEFAULT_SITE_TIMEOUT_MS = 120_000;

/** `promise`, or an error once `ms` have passed. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Runs one round; throws RoundFailed when fewer than `needed` sites are left at any phase. */
export async function secureRound(o: RoundOptions): Promise<RoundOutcome> {
  const dropped: DroppedSite[] = [];
  let bytes = 0;
  const { definition } = o;
  /** Asks every site in `sites` for `phase` with its own body; those that fail are dropped. */
  async function ask<T>(phase: RoundPhase, sites: readonly StudySiteLink[], bodyOf: (s: StudySiteLink) => unknown): Promise<{ site: StudySiteLink; answer: T }[]> {
    const settled = await Promise.allSettled(
      sites.map(async (site) => {
        const body = bodyOf(site);
        const answer = (await withTimeout(site.client.post<T>(roundPath(o.studyId, o.round, phase), body), o.timeoutMs ?? DEFAULT_SITE_TIMEOUT_MS)).body;
        bytes += JSON.stringify(body).length + JSON.stringify(answer).length;
        return { site, answer };
      }),
    );
    const answered: { site: StudySiteLink; answer: T }[] = [];
    settled.forEach((s, i) => (s.status === 'fulfilled' ? answered.push(s.value) : dropped.push({ provider: sites[i]!.provider, phase, reason: (s.reason as Error).message })));
    if (answered.length < o.needed) {
      const why = dropped.map((d) => `${d.provider} (${d.phase}): ${d.reason}`).join('; ');
      throw new RoundFailed(o.round, dropped, `round ${o.round} has ${answered.length} sites left after ${phase}; it needs ${o.needed}${why ? ` — ${why}` : ''}`);
    }
    await o.onPhase?.(phase, answered.map((a) => a.site.provider));
    return answered;
  }

  const all = o.sites.map((s) => s.provider);
  const keys = await ask<KeysAnswer>('keys', o.sites, () => ({ definition, sites: all, model: o.model }));
  const length = keys[0]!.answer.length;
  const odd = keys.find((k) => k.answer.length !== length);
  if (odd) throw new RoundFailed(o.round, dropped, `the sites' updates differ in length (${length} and ${odd.answer.length}): they do not run the same study code`);
  const adverts = keys.map((k) => k.answer.advert);

  const shared = await ask<SharesAnswer>('shares', keys.map((k) => k.site), () => ({ definition, adverts }));
  const sharers = new Set(shared.map((s) => s.site.provider.toLowerCase()));
  const shares: EncryptedShare[] = shared.flatMap((s) => s.answer.shares);

  const masked = await ask<MaskedAnswer>('masked', shared.map((s) => s.site), (site) => ({
    definition,
    shares: shares.filter((s) => s.to === site.provider.toLowerCase() && sharers.has(s.from)),
  }));
  const survivors = masked.map((m) => m.site.provider);
  const gone = [...sharers].filter((s) => !survivors.some((v) => v.toLowerCase() === s));

  const unmasked = await ask<UnmaskAnswer>('unmask', masked.map((m) => m.site), () => ({ definition, survivors, dropped: gone }));
  const session = roundSession(o.studyId, o.round, all, length);
  const sum = aggregate(session, adverts.map(({ signature: _s, ...a }) => a), masked.map((m) => m.answer.masked), unmasked.map((u) => u.answer.unmasking));
  const inSum = keys.filter((k) => survivors.includes(k.site.provider));
  const consentSetHash = roundConsentSetHash(inSum.map((k) => ({ provider: k.site.provider, consentSetHash: k.answer.consentSetHash })));
  return { round: o.round, sum, survivors, dropped, consentSetHash, bytes };
}
