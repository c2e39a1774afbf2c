/**
 * Child process of the fault suite: the patient's Ethereum client. It follows the chain into a local
 * PGlite database (src/client/watcher.ts) and signs the patient's transactions through a durable
 * outbox; both live in its data directory and survive kill -9. Calls: `respond`, `grant`, `revoke`
 * (resolve with the transaction hash and block), `sync`, `state` (localState after a sync), `settle`,
 * `watchOutbox` (pause the outbox's re-sending), `stats` (the outbox's counters).
 * Events: the outbox's (`resubmitted`, `resigned`, `refused`, `dropped`: fault-process.ts), `rolledBack`
 * (the watcher followed a rollback).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Address } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { createLedgerClient, withOutbox } from '../../src/chain/client.js';
import { createOutbox, fileOutboxStorage } from '../../src/chain/outbox.js';
import { createWatcher, localState } from '../../src/client/watcher.js';
import { openDb } from '../../src/records/db.js';
import { grantViewer, respond, revokeViewer } from '../../src/sdk/index.js';
import { outboxOptions, serveParent, type ChildChainConfig } from './fault-process.js';

const config = JSON.parse(process.env.FAULT_CONFIG!) as ChildChainConfig;
mkdirSync(config.dataDir, { recursive: true });
const account = privateKeyToAccount(config.key);
const deployment = { rpcUrl: config.rpcUrl, chainId: config.chainId, contract: config.contract, deployBlock: BigInt(config.deployBlock) };
const base = createLedgerClient(deployment, { account, pollingIntervalMs: 20 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const { emit, ready } = serveParent({
  async respond(args) {
    return respond(ledger, { relationshipId: BigInt(args.relationshipId as string), accept: true });
  },
  async grant(args) {
    return grantViewer(ledger, { relationshipId: BigInt(args.relationshipId as string), viewer: args.viewer as Address, scope: args.scope as string, expiresAt: 0 });
  },
  async revoke(args) {
    return revokeViewer(ledger, { relationshipId: BigInt(args.relationshipId as string), viewer: args.viewer as Address, scope: args.scope as string });
  },
  async sync() {
    return (await syncOnce()).block;
  },
  async state() {
    await syncOnce();
    return localState(db);
  },
  async stats() {
    return outbox.stats;
  },
  /** Stops (`on: false`) or restarts the outbox's background settling. */
  async watchOutbox(args) {
    stopWatching();
    if (args.on) stopWatching = outbox.watch(ledger, 250);
    return true;
  },
  async settle() {
    const r = await ledger.outbox!.settle(ledger);
    return { resubmitted: r.resubmitted.length, pending: r.pending };
  },
});
const outbox = createOutbox(fileOutboxStorage(join(config.dataDir, 'outbox.json')), outboxOptions('client', (e) => emit(e)));
const ledger = withOutbox(base, outbox);
const db = await openDb({ dataDir: join(config.dataDir, 'local') });
const watcher = createWatcher({ ledger, db, user: account.address });
await watcher.init();

/** One sync, retried while the node is unreachable (restarting). */
async function syncOnce() {
  for (let i = 0; ; i++) {
    try {
      const r = await watcher.sync();
      if (r.rolledBackTo !== undefined) emit({ event: 'rolledBack', to: r.rolledBackTo });
      return r;
    } catch (err) {
      if (i >= 100) throw err;
      await sleep(100);
    }
  }
}

let stopped = false;
void (async () => {
  while (!stopped) {
    await syncOnce().catch(() => undefined);
    await sleep(100);
  }
})();
let stopWatching = outbox.watch(ledger, 250);
process.once('SIGTERM', () => {
  stopped = true;
  stopWatching();
  void watcher.stop().then(() => db.close()).finally(() => process.exit(0));
});
ready({ address: account.address });
