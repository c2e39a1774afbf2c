/**
 * Child process of the fault suite: one provider's gatekeeper on a PGlite data directory that
 * survives kill -9, its transactions through a durable outbox in the same directory. Calls: `settle`
 * (the outbox), `reconcile` (unpublished writes), `arm` (die by SIGKILL at the next JSON-RPC call of
 * one of the given methods: a crash at an exact point of a write), `watchOutbox` (pause the outbox's
 * re-sending), `stats` (the outbox's counters: the most transactions it had in flight at once).
 * `publish` in its configuration: how pointer updates go on chain (publish/publisher.ts).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createPublicClient, http, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { createLedgerClient, withOutbox } from '../../src/chain/client.js';
import { createOutbox, fileOutboxStorage } from '../../src/chain/outbox.js';
import type { PublishOptions } from '../../src/gatekeeper/publish/publisher.js';
import { startGatekeeper } from '../../src/gatekeeper/run.js';
import { outboxOptions, serveParent, type ChildChainConfig } from './fault-process.js';

const config = JSON.parse(process.env.FAULT_CONFIG!) as ChildChainConfig & { port: number; pepper: Hex; killAt?: string[]; publish?: PublishOptions };
mkdirSync(config.dataDir, { recursive: true });
let killAt = config.killAt;
const deployment = { rpcUrl: config.rpcUrl, chainId: config.chainId, contract: config.contract, deployBlock: BigInt(config.deployBlock) };
const base = createLedgerClient(deployment, { account: privateKeyToAccount(config.key), pollingIntervalMs: 20 });
const publicClient = createPublicClient({
  pollingInterval: 20,
  transport: http(config.rpcUrl, {
    async onFetchRequest(request) {
      if (!killAt?.length) return;
      const body = (await request.clone().json()) as { method: string } | { method: string }[];
      if ([body].flat().some((b) => killAt!.includes(b.method))) process.kill(process.pid, 'SIGKILL');
    },
  }),
});
const { emit, ready } = serveParent({
  async settle() {
    const r = await ledger.outbox!.settle(ledger);
    return { resubmitted: r.resubmitted.length, pending: r.pending };
  },
  async reconcile() {
    const r = await gk.reconcile();
    return { published: r.published.length, failed: r.failed, patients: r.patients };
  },
  async arm(args) {
    killAt = args.methods as string[];
    return true;
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
});
const outbox = createOutbox(fileOutboxStorage(join(config.dataDir, 'outbox.json')), outboxOptions('gatekeeper', (e) => emit(e)));
const ledger = withOutbox({ ...base, publicClient }, outbox);
const gk = await startGatekeeper({
  ledger,
  database: { dataDir: join(config.dataDir, 'pgdata') },
  port: config.port,
  pepper: config.pepper,
  anchorIntervalMs: 0,
  publish: config.publish,
});
let stopWatching = outbox.watch(ledger, 250);
process.once('SIGTERM', () => {
  stopWatching();
  void gk.close().finally(() => process.exit(0));
});
ready({ url: gk.url });
