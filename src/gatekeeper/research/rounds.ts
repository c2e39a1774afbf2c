/**
 * This site's secure-aggregation state per (study, round), in memory only: the round's SecAggSite
 * (its secret keys) and its update. A round starts once: started again with other sites it is
 * refused, since a site that computed two updates for one round would release two differently
 * noised looks at its patients for one round's privacy spend. Each later phase runs once too
 * (SecAggSite answers a retry with the same arguments the same, refuses other arguments), so an
 * unmask can never be asked twice with different survivors (Bonawitz et al. CCS 2017, §4: a party
 * never reveals both shares for one peer).
 * A round's state goes when a later round of its study begins, or when too many are held.
 *
 * The state is in memory, but the fact that a round started here is not: `claimStudyRound` records
 * it in the site's database first. A gatekeeper restarted mid-round has lost its keys, so it cannot
 * finish that round; and it refuses to start it again, since a second start would compute and
 * release a second, freshly noised update for one round's on-chain privacy spend.
 */
import type { Hex } from 'viem';
import type { Db } from '../../records/db.js';
import { sql } from '../../records/sql.js';
import { sortedSites } from '../../protocol/research/round-session.js';
import type { SignedAdvert } from '../../protocol/research/messages.js';
import type { SecAggSession, SecAggSite } from '../../protocol/research/secagg/index.js';
import { GatekeeperError } from '../http/outcomes.js';

/** Rounds held at once (across studies); the oldest goes first past it. */
const MAX_ROUNDS = 64;

export interface RoundState {
  session: SecAggSession;
  site: SecAggSite;
  /** This site's update for the round: masked before it leaves. */
  update: number[];
  consentSetHash: Hex;
  /** The site's phase-0 keys, signed with the provider key. */
  advert: SignedAdvert;
}

const STUDY_ROUNDS_SCHEMA = `
CREATE TABLE IF NOT EXISTS gatekeeper_study_rounds (
  study_id text NOT NULL,
  round integer NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (study_id, round)
);
`;
const ready = new WeakMap<Db, Promise<void>>();

/** Records durably that `round` of `studyId` starts at this site; false when it already did (before a restart). */
export async function claimStudyRound(db: Db, studyId: Hex, round: number): Promise<boolean> {
  if (!ready.has(db)) {
    ready.set(db, db.exec(STUDY_ROUNDS_SCHEMA).catch((err: unknown) => {
      ready.delete(db);
      throw err;
    }));
  }
  await ready.get(db);
  const rows = await db.query(sql`INSERT INTO gatekeeper_study_rounds (study_id, round) VALUES (${studyId.toLowerCase()}, ${round}) ON CONFLICT DO NOTHING RETURNING round`);
  return rows.length === 1;
}

/** Forgets a claim whose round released nothing (its start failed), so the round may be tried again. */
export async function releaseStudyRound(db: Db, studyId: Hex, round: number): Promise<void> {
  await db.query(sql`DELETE FROM gatekeeper_study_rounds WHERE study_id = ${studyId.toLowerCase()} AND round = ${round}`);
}

export class StudyRounds {
  private readonly rounds = new Map<string, RoundState | 'starting'>();

  /** `db`: where the starts are recorded (claimStudyRound); the site's own database. */
  constructor(private readonly db: Db) {}

  private static key(studyId: Hex, round: number): string {
    return `${studyId.toLowerCase()}/${round}`;
  }

  /**
   * The round's state, started by `start` the first time (claimed before any await, so two concurrent
   * requests cannot both start it). Asked again with the same sites (a retry), the same state; with
   * other sites, 409. If `start` fails nothing was released: the claim is dropped.
   */
  async begin(studyId: Hex, round: number, sites: readonly string[], start: () => Promise<RoundState>): Promise<RoundState> {
    const key = StudyRounds.key(studyId, round);
    const held = this.rounds.get(key);
    if (held === 'starting') throw new GatekeeperError(409, `round ${round} of this study is starting here already`);
    if (held) {
      if (JSON.stringify(held.session.sites) !== JSON.stringify(sortedSites(sites))) throw new GatekeeperError(409, `round ${round} of this study has already started here with other sites: each round runs once`);
      return held;
    }
    for (const k of [...this.rounds.keys()]) {
      const [study, r] = k.split('/');
      if (study === studyId.toLowerCase() && Number(r) < round) this.rounds.delete(k);
    }
    if (this.rounds.size >= MAX_ROUNDS) this.rounds.delete(this.rounds.keys().next().value!);
    this.rounds.set(key, 'starting');
    let claimed = false;
    try {
      claimed = await claimStudyRound(this.db, studyId, round);
      if (!claimed) throw new GatekeeperError(409, `round ${round} of this study already started here before this gatekeeper restarted: each round is released once`);
      const state = await start();
      this.rounds.set(key, state);
      return state;
    } catch (err) {
      this.rounds.delete(key);
      if (claimed) await releaseStudyRound(this.db, studyId, round).catch(() => undefined);
      throw err;
    }
  }

  /** The state of a round that started here (409 otherwise). */
  started(studyId: Hex, round: number): RoundState {
    const state = this.rounds.get(StudyRounds.key(studyId, round));
    if (state === undefined || state === 'starting') throw new GatekeeperError(409, `round ${round} of this study has not started here (send its keys first)`);
    return state;
  }
}
