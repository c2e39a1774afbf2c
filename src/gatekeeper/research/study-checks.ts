/**
 * Whether this site may work on a study for a requester, checked against the chain on every request:
 * the study is registered, the requester is its sponsor, the definition sent hashes to the on-chain
 * studyHash (so no parameter, feature or ε differs from what patients consented to), and it has not
 * expired. Rounds must also be opened on chain (the sponsor's privacy spend is recorded before any
 * site computes) and have enough sites.
 */
import type { Address, Hex } from 'viem';
import type { LedgerClient } from '../../chain/client.js';
import { MIN_STUDY_SITES, validateStudy, type StudyDefinition } from '../../protocol/research/study.js';
import { getAccount } from '../../sdk/registrar.js';
import { studyMismatch, studyOf, type OnChainStudy } from '../../sdk/studies.js';
import { GatekeeperError } from '../http/outcomes.js';

const STUDY_ID = /^0x[0-9a-fA-F]{64}$/;

export interface CheckedStudy {
  studyId: Hex;
  chain: OnChainStudy;
}

/** The study id of a route's `:studyId` (400 when it is not 32 bytes of hex). */
export function studyIdParam(params: unknown): Hex {
  const id = (params as { studyId?: string }).studyId ?? '';
  if (!STUDY_ID.test(id)) throw new GatekeeperError(400, 'a study id is 0x and 64 hex digits');
  return id.toLowerCase() as Hex;
}

/** The round of a route's `:round`: a whole number from 1. */
export function roundParam(params: unknown): number {
  const text = (params as { round?: string }).round ?? '';
  const round = Number(text);
  if (!/^[1-9]\d{0,9}$/.test(text) || round > 0xffffffff) throw new GatekeeperError(400, 'a round is a whole number from 1');
  return round;
}

/** Now, as late as the wall clock or the chain's last block says (a test may move the chain's clock forward). */
async function now(ledger: LedgerClient): Promise<number> {
  const block = await ledger.publicClient.getBlock({ blockTag: 'latest' });
  return Math.max(Math.floor(Date.now() / 1000), Number(block.timestamp));
}

/** The registered study `studyId`, asked for by its sponsor (404 unknown, 403 anyone else). */
export async function sponsoredStudy(ledger: LedgerClient, studyId: Hex, requester: Address): Promise<CheckedStudy> {
  const chain = await studyOf(ledger, studyId);
  if (!chain) throw new GatekeeperError(404, `no study ${studyId} is registered on chain`);
  if (chain.sponsor.toLowerCase() !== requester.toLowerCase()) throw new GatekeeperError(403, `${requester} is not the sponsor of study ${studyId}`);
  return { studyId, chain };
}

/**
 * The sponsor's study with the definition sent, checked: well-formed (400), its hash the one on
 * chain (409), not expired (410).
 */
export async function checkedStudy(ledger: LedgerClient, studyId: Hex, requester: Address, body: unknown): Promise<CheckedStudy & { definition: StudyDefinition }> {
  const study = await sponsoredStudy(ledger, studyId, requester);
  let definition: StudyDefinition;
  try {
    definition = validateStudy((body as { definition?: unknown } | undefined)?.definition);
  } catch (err) {
    throw new GatekeeperError(400, (err as Error).message);
  }
  const mismatch = studyMismatch(study.chain, definition);
  if (mismatch) throw new GatekeeperError(409, mismatch);
  if ((await now(ledger)) > study.chain.expiresAt) throw new GatekeeperError(410, `study ${studyId} expired at ${new Date(study.chain.expiresAt * 1000).toISOString()}`);
  return { ...study, definition };
}

/** 409 unless `round` is the last round the sponsor opened on chain (earlier rounds are over). */
export function requireOpenRound(study: CheckedStudy, round: number): void {
  const opened = study.chain.rounds;
  if (round > opened) throw new GatekeeperError(409, `round ${round} is not open on chain (${opened ? `the last opened is ${opened}` : 'none is open'})`);
  if (round < opened) throw new GatekeeperError(409, `round ${round} is over: round ${opened} is open on chain`);
}

/** Sites a round of `definition` needs: the study's minimum, and never fewer than MIN_STUDY_SITES. */
export function sitesNeeded(study: CheckedStudy & { definition: StudyDefinition }): number {
  return Math.max(MIN_STUDY_SITES, study.definition.privacy.minSites, study.chain.minSites);
}

/**
 * 409 unless every site of a round is an accredited provider on chain: a sponsor who listed addresses
 * of its own as sites could hold a majority of a round's Shamir shares and unmask a real site.
 */
export async function requireAccreditedSites(ledger: LedgerClient, sites: readonly Address[]): Promise<void> {
  const accounts = await Promise.all(sites.map((s) => getAccount(ledger, s)));
  const stranger = sites.find((_, i) => !accounts[i]!.accredited);
  if (stranger) throw new GatekeeperError(409, `${stranger} is not an accredited provider: every site of a round must be one`);
}
