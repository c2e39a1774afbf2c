/**
 * What a gatekeeper child process (`medledger provider-site`, `medledger research-site`) shares: it
 * joins the chain of the running system, never starts its own, and runs until it is told to stop or
 * the process that started it is gone.
 */
import type { Config } from '../config.js';
import { watchParent } from '../chain/lifeline.js';
import { runningNode, startChain, type ChainRuntime } from '../chain/runtime.js';

/** The running system's chain: MEDLEDGER_RPC_URL, or the `medledger start` of this data directory. */
export async function joinRunningChain(cfg: Config): Promise<ChainRuntime> {
  const rpcUrl = cfg.rpcUrl ?? runningNode(cfg.dataDir);
  if (!rpcUrl) throw new Error(`no running chain for ${cfg.dataDir}: start medledger first, or set MEDLEDGER_RPC_URL`);
  return startChain({ ...cfg, rpcUrl, deployerKey: undefined });
}

/** Resolves on SIGINT or SIGTERM, when the parent closes our IPC channel, or when the parent is gone. */
export function untilStopped(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    process.once('disconnect', resolve);
    watchParent(resolve);
  });
}
