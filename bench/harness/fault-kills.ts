/**
 * The kills of a fault run (fault-driver.ts, fault-burst.ts) and what a run keeps of them: `kill -9`
 * with the bookkeeping a node crash needs (which acknowledged transactions it took), a restore point
 * whose rollback brings back a higher base fee, the gatekeeper armed to die at its next send, and how
 * many transactions were in flight when a kill struck.
 */
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Address, Hex } from 'viem';
import type { ReadRecord } from './fault-checks.js';
import { sleep, type Lab } from './fault-lab.js';
import type { Target } from './fault-plan.js';

/** One kill that struck while a burst was under way. */
export interface BurstKill {
  target: Target;
  /** The burst's writes sent and not yet answered. */
  writesInFlight: number;
  /** Transactions signed into the gatekeeper's and the client's outboxes and not in a block of the chain (at least: the node may mine meanwhile). */
  txsInFlight: number;
}

/** What one run has seen so far. */
export interface RunState {
  seed: number;
  lab: Lab;
  log: (line: string) => void;
  acknowledged: string[];
  txs: { hash: Hex; kind: string; block: bigint }[];
  lostByCrash: Set<Hex>;
  reads: ReadRecord[];
  readsUnjudged: number;
  rollbacks: number[];
  /** Copies of the node's state file, by the operation they were taken before. */
  saves: Map<number, string>;
  /** Burst writes acknowledged (also in `acknowledged`). */
  burstWrites: number;
  burstKills: BurstKill[];
  /** The most transactions the node held unmined at once during bursts. */
  peakPending: number;
  /** The most sends one outbox had waiting for receipts at once (its own stats, read after each burst). */
  peakOutboxInFlight: number;
}

export async function crash(run: RunState, target: Target, restore?: string): Promise<void> {
  run.log(`kill -9 ${target}${restore ? ' (restoring an earlier state save)' : ''}`);
  const lost = await run.lab.crash(target, restore);
  if (target !== 'chain') return;
  run.rollbacks.push(lost);
  for (const tx of run.txs) if (tx.block > run.lab.chainRestoredAt) run.lostByCrash.add(tx.hash);
}

/**
 * A restore point for a targeted rollback: the base fee set to 1 gwei, a state save waited for and
 * copied, then `blocks` empty blocks mined (lowering the base fee by 1/8 each), so that what the
 * operation signs cannot pay the base fee the rollback brings back.
 */
export async function feeRollbackPoint(lab: Lab, blocks: number): Promise<string> {
  const rpc = (method: string, params: unknown[] = []) => lab.reader.publicClient.request({ method: method as never, params: params as never });
  await rpc('anvil_setNextBlockBaseFeePerGas', [`0x${(10n ** 9n).toString(16)}`]);
  await rpc('evm_mine');
  const saved = await lab.saveChainState();
  for (let i = 0; i < blocks; i++) await rpc('evm_mine');
  return saved;
}

/**
 * Arms the gatekeeper to die at its next eth_sendRawTransaction (a pointer update signed and stored
 * in its outbox, not yet sent) and restarts it when it does (`onDeath` first, while it is dead);
 * resolves with the function that ends the watch: it gives the send up to `graceMs` to come (a
 * gatekeeper that answers writes at the store commit sends their pointer update after the answer),
 * then disarms it if the operation sent nothing.
 */
export async function armGatekeeper(run: RunState, onDeath?: () => Promise<void>, graceMs = 3_000): Promise<() => Promise<void>> {
  const { lab } = run;
  const child = lab.gatekeeper;
  let watching = true;
  let restarted: Promise<void> | undefined;
  const exited = once(child.process, 'exit').then(async () => {
    if (!watching || lab.gatekeeper !== child) return; // killed and restarted by another kill meanwhile
    run.log('gatekeeper died at a pointer update’s send (armed)');
    await onDeath?.().catch(() => undefined);
    restarted = lab.restartGatekeeper();
  });
  await child.call('arm', { methods: ['eth_sendRawTransaction'] });
  return async () => {
    await Promise.race([exited, sleep(graceMs)]);
    if (child.alive && (await child.call('arm', { methods: [] }).then(() => true, () => false))) {
      watching = false;
      return;
    }
    await exited;
    watching = false;
    await restarted;
  };
}

/**
 * Transactions of the gatekeeper's and the client's outboxes that are signed and stored but in no
 * block of the chain: entries at or above their account's mined nonce (outbox-storage.ts keeps each
 * entry until it is 64 blocks deep, so the mined ones are there too, below it). Read from the
 * outboxes' files, which are replaced atomically; 0 for an outbox whose file is not (yet) there.
 */
export async function txsInFlight(lab: Lab): Promise<number> {
  const pc = lab.reader.publicClient;
  const count = async (dir: string, account: Address) => {
    const file = join(lab.dir, dir, 'outbox.json');
    if (!existsSync(file)) return 0;
    let entries: unknown;
    try {
      entries = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      return 0;
    }
    if (!Array.isArray(entries)) return 0;
    const mined = await pc.getTransactionCount({ address: account, blockTag: 'latest' });
    const from = account.toLowerCase();
    return entries.filter((e: { from?: string; nonce?: number; chainId?: number }) => e.from?.toLowerCase() === from && e.chainId === lab.deployment.chainId && (e.nonce ?? -1) >= mined).length;
  };
  const [gatekeeper, client] = await Promise.all([count('provider', lab.provider.address), count('client', lab.patient.address)]);
  return gatekeeper + client;
}
