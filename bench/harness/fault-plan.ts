/**
 * The seeded plan of one fault run (fault-driver.ts): the workload (record writes, grants, revokes,
 * reads) and where each process is killed. A seed gives the same plan on every machine, so a failing
 * run is replayed with its seed; `describePlan` is the line every run logs.
 *
 * Besides kills at random points, every plan has three targeted ones at the places issue 14's lost
 * revoke came from: the node killed right after a revoke's receipt was read and rolled back to before
 * it, with blocks mined in between so that the rollback brings back a base fee the revoke was not
 * signed for (its signed bytes can never be mined again); the same after a record write (its pointer
 * update); and the gatekeeper killed at the moment a pointer update, signed and stored, is sent.
 */
import { createRandom, type Random } from '../../src/random.js';

export type Target = 'chain' | 'gatekeeper' | 'client';
const TARGETS: readonly Target[] = ['chain', 'gatekeeper', 'client'];
export const CATEGORIES = ['laboratory', 'vital-signs'] as const;

export type Op = { kind: 'write'; category: (typeof CATEGORIES)[number] } | { kind: 'grant' | 'revoke' | 'read'; viewer: number };

export interface Kill {
  /** Index of the operation the kill goes with. */
  at: number;
  target: Target;
  /**
   * `during`: `delayMs` after the operation starts, while it may be in flight; `after`: as soon as it
   * is answered; `at-send` (gatekeeper only): at its next eth_sendRawTransaction, a pointer update
   * signed and stored in its outbox but not yet sent.
   */
  when: 'during' | 'after' | 'at-send';
  delayMs: number;
  /**
   * Chain only. Absent: the node loses what its last state save (once a second) missed. Set: the
   * state file as it was when operation `restoreFrom` started is put back before the restart, as if
   * the node had saved nothing since — a deeper rollback, independent of the machine's speed.
   */
  restoreFrom?: number;
  /**
   * Chain only, with `restoreFrom`: the base fee is set to 1 gwei and the state saved, then this many
   * empty blocks are mined before the operation (other users' traffic): the base fee falls by 1/8 a
   * block, the operation's transactions are signed for at most twice the lower fee, and the rollback
   * brings the higher one back.
   */
  mineBefore?: number;
  /** Why the kill is there. */
  reason: 'random' | 'revoke-rollback' | 'pointer-rollback' | 'pointer-send';
}

export interface Plan {
  ops: Op[];
  kills: Kill[];
}

/** Empty blocks between a targeted restore point and its operation: (8/7)^8 ≈ 2.9 > the fee cap's 2. */
const FEE_ROLLBACK_BLOCKS = 8;

/**
 * The seeded workload: `ops` operations, the three targeted kills, and `kills` kills at random
 * other operations, every process kind killed at random at least once when kills ≥ 3.
 */
export function planWorkload(seed: number, ops: number, kills: number): Plan {
  const random = createRandom(seed);
  const plan: Op[] = [];
  for (let i = 0; i < ops; i++) {
    const r = random.next();
    const viewer = random.int(0, 1);
    if (r < 0.35) plan.push({ kind: 'write', category: random.pick(CATEGORIES) });
    else if (r < 0.55) plan.push({ kind: 'grant', viewer });
    else if (r < 0.7) plan.push({ kind: 'revoke', viewer });
    else plan.push({ kind: 'read', viewer });
  }
  const targeted = targetedKills(plan, random);
  // No random kill on a targeted operation, nor on the grant before the targeted revoke.
  const taken = new Set(targeted.flatMap((k) => (k.reason === 'revoke-rollback' ? [k.at - 1, k.at] : [k.at])));
  const targets = shuffled(TARGETS, random);
  const slots = shuffled([...Array(ops).keys()].filter((i) => !taken.has(i)), random)
    .slice(0, Math.min(kills, ops - taken.size))
    .sort((a, b) => a - b);
  const planned = slots.map((at, i): Kill => {
    const target = i < targets.length ? targets[i]! : random.pick(TARGETS);
    const kill: Kill = { at, target, when: random.chance(0.5) ? 'during' : 'after', delayMs: random.int(0, 399), reason: 'random' };
    const back = random.int(0, 3);
    if (target === 'chain' && back > 0) kill.restoreFrom = Math.max(0, at - back + 1);
    return kill;
  });
  return { ops: plan, kills: [...planned, ...targeted].sort((a, b) => a.at - b.at) };
}

/**
 * The targeted kills, on operations the plan is made to have: a revoke of a granted viewer (a grant
 * is put before it when the random plan has none), and two record writes.
 */
function targetedKills(plan: Op[], random: Random): Kill[] {
  const n = plan.length;
  if (n < 6) return [];
  // The revoke in the middle third, its grant just before it.
  const r = random.int(Math.floor(n / 3), Math.floor((2 * n) / 3));
  const viewer = random.int(0, 1);
  plan[r - 1] = { kind: 'grant', viewer };
  plan[r] = { kind: 'revoke', viewer };
  const free = [...Array(n).keys()].filter((i) => i < r - 1 || i > r);
  const [w1, w2] = shuffled(free, random);
  plan[w1!] = { kind: 'write', category: random.pick(CATEGORIES) };
  plan[w2!] = { kind: 'write', category: random.pick(CATEGORIES) };
  const rollback = (at: number, reason: Kill['reason']): Kill => ({ at, target: 'chain', when: 'after', delayMs: 0, restoreFrom: at, mineBefore: FEE_ROLLBACK_BLOCKS, reason });
  return [rollback(r, 'revoke-rollback'), rollback(w1!, 'pointer-rollback'), { at: w2!, target: 'gatekeeper', when: 'at-send', delayMs: 0, reason: 'pointer-send' }];
}

/** Fisher–Yates with the seeded source. */
function shuffled<T>(items: readonly T[], random: Random): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** The plan in one line: what a failure report needs to be read (the seed gives the same plan again). */
export function describePlan(seed: number, plan: Plan): string {
  const ops = plan.ops.map((o, i) => `${i}:${o.kind === 'write' ? `write:${o.category}` : `${o.kind}:${o.viewer}`}`).join(' ');
  const kills = plan.kills
    .map((k) => `${k.target}@${k.at}/${k.when}${k.when === 'during' ? `+${k.delayMs}ms` : ''}${k.restoreFrom === undefined ? '' : `<-${k.restoreFrom}`}${k.mineBefore ? `(mined ${k.mineBefore})` : ''}${k.reason === 'random' ? '' : `[${k.reason}]`}`)
    .join(' ');
  return `seed=${seed}: ${ops}; kills ${kills}`;
}
