/**
 * Starts one provider's gatekeeper: its store (PGlite data directory, or PostgreSQL), the chain view,
 * audit anchoring every `anchorIntervalMs`, and the HTTP server.
 */
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Hex } from 'viem';
import type { LedgerClient } from '../chain/client.js';
import { openDb, type Db } from '../records/db.js';
import { RecordStore } from '../records/store.js';
import { anchorPending, AUDIT_SCHEMA, type Decision } from './audit/audit.js';
import { createChainView, type ChainView } from './chain/chain-view.js';
import { openJournal } from './audit/journal.js';
import { NONCE_SCHEMA, pruneNonces } from './auth/nonces.js';
import { buildGatekeeper } from './http/server.js';
import { SMART_APPS_SCHEMA } from './smart/apps.js';
import type { SmartOptions } from './smart/authority.js';
import type { BulkOptions } from './bulk/options.js';
import type { SurveillanceReporting } from './http/context.js';
import type { ResearchSite } from '../protocol/research/site.js';
import { openReplicas, type ReplicaSet } from './replication/replica.js';
import { replicaRoutes } from './replication/replica-routes.js';
import { createTokenIssuer } from './auth/tokens.js';
import { RECONCILE_SCHEMA, createReconciler, trackWrites, type ReconcileResult } from './publish/reconcile.js';
import { createPublisher, type Publisher, type PublishOptions } from './publish/publisher.js';
import { applyRateLimits, resolveLimits, type LimitsOption } from './http/limits.js';

export interface GatekeeperOptions {
  /** The provider's signing client (its account is the gatekeeper's identity). */
  ledger: LedgerClient;
  database: { dataDir: string } | { url: string };
  port?: number;
  host?: string;
  /** 0 = no periodic anchoring (tests call anchorPending themselves). */
  anchorIntervalMs?: number;
  /** Browser origins allowed to call (the EHR Manager). */
  corsOrigins?: readonly string[];
  /** Hears every audited decision once it is stored. */
  onDecision?: (d: Decision) => void;
  /** The identity pepper, for the provider's Registrar lookups. */
  pepper?: Hex;
  /** Rate and body limits (limits.ts DEFAULT_LIMITS for what is left out). */
  limits?: LimitsOption;
  /** Signers whose public keys are kept (http/context.ts GatekeeperDeps.signerKeys); 0 = recover every signature. */
  signerKeys?: number;
  /** Public-health authorities this provider reports weekly counts to (http/surveillance.ts); none by default. */
  surveillance?: SurveillanceReporting;
  /** What this provider computes for consented research studies (http/research.ts); none = it takes part in none. */
  research?: ResearchSite;
  /** SMART App Launch (the EHR Manager's authorize page) and Backend Services (smart/*). */
  smart?: SmartOptions;
  /** Bulk export paging and file size (bulk/exporter.ts). */
  bulk?: BulkOptions;
  /** How pointer hashes go on chain after writes (publish/publisher.ts): coalesced, answered once mined, by default. */
  publish?: PublishOptions;
}

export interface RunningGatekeeper {
  url: string;
  app: FastifyInstance;
  db: Db;
  store: RecordStore;
  chain: ChainView;
  /** The provider's signing client. */
  ledger: LedgerClient;
  /** This provider's copies of other providers' records (replica.ts). */
  replicas: ReplicaSet;
  /** Brings pointer hashes on chain after writes; says which are still pending (publish/publisher.ts). */
  publisher: Publisher;
  /** Anchors pending audit events now. */
  anchor(): ReturnType<typeof anchorPending>;
  /** Publishes now what writes left unpublished (a crash, an unreachable chain; reconcile.ts). Also runs at start. */
  reconcile(): Promise<ReconcileResult>;
  close(): Promise<void>;
}

export async function startGatekeeper(options: GatekeeperOptions): Promise<RunningGatekeeper> {
  if (!options.ledger.account) throw new Error('a gatekeeper needs its provider account');
  const db = await openDb(options.database);
  await db.exec(NONCE_SCHEMA + AUDIT_SCHEMA + RECONCILE_SCHEMA + SMART_APPS_SCHEMA);
  // A data directory on disk keeps the audit spool (audit-spool.ts) beside the database's files.
  const dataDir = 'dataDir' in options.database ? options.database.dataDir : undefined;
  const localDir = dataDir?.includes('://') ? undefined : dataDir;
  const journal = await openJournal(db, { spoolDir: localDir });
  const store = await RecordStore.open(db);
  const chain = createChainView(options.ledger, options.ledger.account.address);
  const tokens = createTokenIssuer();
  const limits = resolveLimits(options.limits);
  const publisher = createPublisher({ store, ledger: options.ledger, ...options.publish });
  const app = buildGatekeeper({ db, store, chain, ledger: options.ledger, publisher, tokens, corsOrigins: options.corsOrigins, pepper: options.pepper, onDecision: options.onDecision, bodyLimit: limits.bodyBytes, signerKeys: options.signerKeys, surveillance: options.surveillance, research: options.research, bulk: { directory: localDir && join(localDir, 'bulk-export'), ...options.bulk }, smartOptions: options.smart });
  applyRateLimits(app, tokens, limits);
  const replicas = openReplicas(db);
  await app.register(replicaRoutes, { db, store, chain, ledger: options.ledger, tokens, replicas });
  const reconciler = createReconciler({ db, store, ledger: options.ledger, publisher });
  trackWrites(app, reconciler, store);
  const address = await app.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' });
  let anchoring = Promise.resolve<unknown>(undefined);
  const anchor = () => {
    const next = anchoring.then(() => anchorPending(db, options.ledger));
    anchoring = next.catch(() => undefined);
    return next;
  };
  const timers = [setInterval(() => void pruneNonces(db).catch(() => undefined), 60_000)];
  if (options.anchorIntervalMs) timers.push(setInterval(() => void anchor().catch(() => undefined), options.anchorIntervalMs));
  for (const t of timers) t.unref();
  reconciler.schedule(); // whatever a crash left between a store commit and its pointer update
  return {
    url: address,
    app,
    db,
    store,
    chain,
    ledger: options.ledger,
    replicas,
    publisher,
    anchor,
    reconcile: reconciler.run,
    async close() {
      reconciler.close();
      publisher.close();
      for (const t of timers) clearInterval(t);
      await anchoring;
      await app.close();
      chain.close();
      await journal.close().catch(() => undefined); // what it could not move stays spooled for the next start
      await db.close();
    },
  };
}
