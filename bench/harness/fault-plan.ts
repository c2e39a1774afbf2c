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
 *
 * Bursts (issue 19): many record writes across several patients fired without waiting for each other,
 * with a few grants by the patient's client beside them, so that many transactions are in flight at
 * once (fault-burst.ts). Each burst has one targeted kill while it is under way, the kinds taken in
 * turn from a seeded order: the node rolled back to before the burst (to a higher base fee), the
 * gatekeeper at its next send (a coalesced pointer update being flushed), the EHR process that sends
 * the writes (its requests in flight), the patient's client (its grants in flight).
 */
import { createRandom, type Random } from '../../src/random.js';

/** `ehr`: the process that sends a burst's record writes (the provider's EHR), fault-ehr.ts. */
export type Target = 'chain' | 'gatekeeper' | 'client' | 'ehr';
const TARGETS: readonly Target[] = ['chain', 'gatekeeper', 'client'];
const BURST_TARGETS: readonly Target[] = ['chain', 'gatekeeper', 'ehr', 'client'];
export const CATEGORIES = ['laboratory', 'vital-signs'] as const;

export type Op =
  | { kind: 'write'; category: (typeof CATEGORIES)[number] }
  | { kind: 'grant' | 'revoke' | 'read'; viewer: number }
  /** `writes` record writes spread over the lab's patients and both categories, and `grants` grants to new viewers, all at once. */
  | { kind: 'burst'; writes: number; grants: number };

export interface Kill {
  /** Index of the operation the kill goes with. */
  at: number;
  target: Target;
  /**
   * `during`: `delayMs` after the operation starts, while it may be in flight; `after`: as soon as it
   * is answered; `at-send` (gatekeeper only): at its next eth_sendRawTransaction, a pointer update
   * signed and stored in its outbox but not yet sent; `in-burst` (a burst only): once the burst has
   * sent `afterWrites` of its writes, then `delayMs` later (with `at-send`: armed then).
   */
  when: 'during' | 'after' | 'at-send' | 'in-burst';
  delayMs: number;
  /** Burst kills: how many of the burst's writes are sent before the kill (or the arming). */
  afterWrites?: number;
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
  reason: 'random' | 'revoke-rollback' | 'pointer-rollback' | 'pointer-send' | 'burst-rollback' | 'burst-flush' | 'burst-writer' | 'burst-client';
}

export interface Plan {
  ops: Op[];
  kills: Kill[];
}

/** Empty blocks between a targeted restore point and its operation: (8/7)^8 ≈ 2.9 > the fee cap's 2. */
const FEE_ROLLBACK_BLOCKS = 8;

/** Bursts of a plan: how many, and the record writes of each. */
export interface BurstPlan {
  bursts: number;
  writes: number;
}

/**
 * The seeded workload: `ops` operations (`burst.bursts` of them bursts), the three targeted kills, one
 * targeted kill per burst, and `kills` kills at random other operations, every process kind killed at
 * random at least once when kills ≥ 3.
 */
export function planWorkload(seed: number, ops: number, kills: number, burst: BurstPlan = { bursts: 0, writes: 0 }): Plan {
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
  targeted.push(...burstKills(plan, burst, taken, random));
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

/**
 * Puts `burst.bursts` bursts at free operations (marking them taken) and plans the kill of each while
 * it is under way: after a quarter to three quarters of its writes are sent (fault-burst.ts then also
 * waits for a transaction in flight). A node kill goes back to before the burst, with empty blocks
 * mined first as for the other rollbacks, so the burst's transactions cannot pay the fee it brings back.
 */
function burstKills(plan: Op[], burst: BurstPlan, taken: Set<number>, random: Random): Kill[] {
  if (burst.bursts <= 0) return []; // draws nothing: a plan without bursts is what it was before they existed
  const free = shuffled([...Array(plan.length).keys()].filter((i) => !taken.has(i)), random).slice(0, burst.bursts);
  const order = shuffled(BURST_TARGETS, random);
  return free.map((at, n): Kill => {
    taken.add(at);
    plan[at] = { kind: 'burst', writes: burst.writes, grants: random.int(2, 4) };
    const target = order[n % order.length]!;
    const afterWrites = random.int(Math.max(1, Math.floor(burst.writes / 4)), Math.max(1, Math.floor((3 * burst.writes) / 4)));
    const base = { at, target, afterWrites, delayMs: random.int(0, 150) };
    if (target === 'chain') return { ...base, when: 'in-burst', restoreFrom: at, mineBefore: FEE_ROLLBACK_BLOCKS, reason: 'burst-rollback' };
    if (target === 'gatekeeper') return { ...base, when: 'at-send', reason: 'burst-flush' };
    return { ...base, when: 'in-burst', reason: target === 'ehr' ? 'burst-writer' : 'burst-client' };
  });
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
  const ops = plan.ops.map((o, i) => `${i}:${o.kind === 'write' ? `write:${o.category}` : o.kind === 'burst' ? `burst:${o.writes}w+${o.grants}g` : `${o.kind}:${o.viewer}`}`).join(' ');
  const kills = plan.kills
    .map((k) => `${k.target}@${k.at}/${k.when}${k.afterWrites === undefined ? '' : `@${k.afterWrites}w`}${k.when === 'during' || k.afterWrites !== undefined ? `+${k.delayMs}ms` : ''}${k.restoreFrom === undefined ? '' : `<-${k.restoreFrom}`}${k.mineBefore ? `(mined ${k.mineBefore})` : ''}${k.reason === 'random' ? '' : `[${k.reason}]`}`)
    .join(' ');
  return `seed=${seed}: ${ops}; kills ${kills}`;
}
